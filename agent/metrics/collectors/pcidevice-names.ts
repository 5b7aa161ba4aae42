import { goTrimSpace } from "../sysfs-go-text.js";

/**
 * node_exporter's pciIDProvider (behind the pcidevice collector's --collector.pcidevice.names): the vendor, device, subsystem and class names of a pci.ids file
 * (https://pci-ids.ucw.cz/), looked up by the IDs node_pcidevice_info carries. An ID the file
 * does not name is shown as it is ("8086"; "Unknown class (ff0000)" for a class).
 */

/** strings.Fields' separators (Go white space). */
const GO_SPACE_RUN = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** bufio.Scanner's limit: a longer line ends the scan (node_exporter does not check the error). */
const MAX_LINE_BYTES = 64 * 1024;

export class PciIds {
  private readonly vendors = new Map<string, string>();
  private readonly devices = new Map<string, Map<string, string>>();
  private readonly subsystems = new Map<string, Map<string, string>>();
  private readonly classes = new Map<string, string>();
  private readonly subclasses = new Map<string, string>();
  private readonly progIfs = new Map<string, string>();

  /** node_exporter's load on the file's text (empty for a file that could not be opened). */
  constructor(text = "") {
    let vendor = "";
    let device = "";
    let baseClass = "";
    let subclass = "";
    let inClass = false;
    /** strings.SplitN(line, "  ", 2), trimmed; undefined without the two-space separator. */
    const split = (line: string): [string, string] | undefined => {
      const at = line.indexOf("  ");
      return at < 0 ? undefined : [goTrimSpace(line.slice(0, at)), goTrimSpace(line.slice(at + 2))];
    };
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    for (const raw of lines) {
      if (Buffer.byteLength(raw) >= MAX_LINE_BYTES) break;
      let line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "" || line.startsWith("#")) continue;
      const oneTab = line.startsWith("\t") && !line.startsWith("\t\t");
      const twoTabs = line.startsWith("\t\t");
      if (line.startsWith("C ")) {
        const parts = split(line);
        if (parts !== undefined) {
          baseClass = goTrimSpace(parts[0].slice(1));
          this.classes.set(baseClass, parts[1]);
          inClass = true;
        }
        continue;
      }
      if (oneTab && inClass) {
        const parts = split(line.slice(1));
        if (parts !== undefined && baseClass !== "") {
          subclass = baseClass + parts[0];
          this.subclasses.set(subclass, parts[1]);
        }
        continue;
      }
      if (twoTabs && !line.startsWith("\t\t\t") && inClass) {
        const parts = split(line.slice(2));
        if (parts !== undefined && subclass !== "") this.progIfs.set(subclass + parts[0], parts[1]);
        continue;
      }
      if (!line.startsWith("\t")) {
        const parts = split(line);
        if (parts !== undefined) {
          vendor = parts[0];
          this.vendors.set(vendor, parts[1]);
          device = "";
          inClass = false;
        }
        continue;
      }
      if (oneTab) {
        const parts = split(line.slice(1));
        if (parts !== undefined && vendor !== "") {
          device = parts[0];
          mapOf(this.devices, vendor).set(device, parts[1]);
        }
        continue;
      }
      line = line.slice(2);
      const parts = split(line);
      if (parts !== undefined && vendor !== "" && device !== "") {
        const subsystems = mapOf(this.subsystems, `${vendor}:${device}`);
        const ids = parts[0].split(GO_SPACE_RUN).filter((s) => s !== "");
        if (ids.length === 2) subsystems.set(`${ids[0]}:${ids[1]}`, parts[1]);
      }
    }
  }

  vendorName(vendorId: string): string {
    const id = bareId(vendorId);
    return this.vendors.get(id) ?? id;
  }

  deviceName(vendorId: string, deviceId: string): string {
    const id = bareId(deviceId);
    return this.devices.get(bareId(vendorId))?.get(id) ?? id;
  }

  subsystemName(vendorId: string, deviceId: string, subsystemVendorId: string, subsystemDeviceId: string): string {
    const subsystemDevice = bareId(subsystemDeviceId);
    const key = `${bareId(subsystemVendorId)}:${subsystemDevice}`;
    return this.subsystems.get(`${bareId(vendorId)}:${bareId(deviceId)}`)?.get(key) ?? subsystemDevice;
  }

  className(classId: string): string {
    const id = bareId(classId);
    const progIf = id.length >= 6 ? this.progIfs.get(id.slice(0, 6)) : undefined;
    if (progIf !== undefined) return progIf;
    const subclass = id.length >= 4 ? this.subclasses.get(id.slice(0, 4)) : undefined;
    if (subclass !== undefined) return subclass;
    const base = id.length >= 2 ? this.classes.get(id.slice(0, 2)) : undefined;
    return base ?? `Unknown class (${id})`;
  }
}

function mapOf(maps: Map<string, Map<string, string>>, key: string): Map<string, string> {
  let map = maps.get(key);
  if (map === undefined) {
    map = new Map();
    maps.set(key, map);
  }
  return map;
}

/** strings.ToLower(strings.TrimPrefix(id, "0x")). */
function bareId(id: string): string {
  return (id.startsWith("0x") ? id.slice(2) : id).toLowerCase();
}
