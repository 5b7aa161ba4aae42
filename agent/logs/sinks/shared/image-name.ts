/**
 * A container image reference split as OpenTelemetry's container.image.name / .tag want it:
 * "registry:5000/team/app:1.2@sha256:ab" -> name "registry:5000/team/app", tag "1.2",
 * digest "sha256:ab". The tag is the part after the last ':' that follows the last '/' (a ':'
 * before it is a registry port).
 */
export function splitImage(image: string): { name: string; tag: string | undefined; digest: string | undefined } {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) return { name: rest.slice(0, colon), tag: rest.slice(colon + 1), digest };
  return { name: rest, tag: undefined, digest };
}
