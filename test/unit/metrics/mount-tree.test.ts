import { describe, expect, it } from "vitest";
import { walkEndsInMemoryMount } from "../../../agent/metrics/collectors/filesystem-inline.js";
import { MountTree, parseMountTree } from "../../../agent/metrics/parsers/mount-tree.js";

/** The mount table of an agent container: its overlay root, the host's root under /host/root (rslave), and the host's mounts below it. */
const CONTAINER = `\
1001 1000 0:52 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1000 900 0:50 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
1010 1000 254:1 / /host/root ro,relatime master:1 - ext4 /dev/vda1 rw
1011 1010 0:60 / /host/root/var/lib/kubelet/pods/abc/volumes/kubernetes.io~projected/kube-api-access-1 rw,relatime master:50 - tmpfs tmpfs rw,size=1024k
1012 1010 0:61 / /host/root/mnt/nfs rw - nfs4 server:/export rw
1013 1012 0:62 / /host/root/mnt/nfs/cache rw - tmpfs tmpfs rw
1014 1010 0:63 / /host/root/run rw - tmpfs tmpfs rw
1015 1014 0:64 / /host/root/run/user/1000 rw - tmpfs tmpfs rw
1016 1010 0:65 / /host/root/a/b rw - tmpfs tmpfs rw
1017 1010 0:66 / /host/root/a rw - tmpfs tmpfs rw
1018 1010 0:67 / /host/root/s rw - tmpfs tmpfs rw
1019 1018 0:68 / /host/root/s rw - ramfs none rw
1020 1010 0:69 / /host/root/auto rw - autofs systemd-1 rw
1021 1020 0:70 / /host/root/auto/x rw - tmpfs tmpfs rw
1022 1010 0:71 / /host/root/my\\040dir\\134x rw - tmpfs tmpfs rw
1023 1010 0:72 / /host/root/sshfs rw - fuse.sshfs host: rw
1024 1023 0:73 / /host/root/sshfs/t rw - tmpfs tmpfs rw
1025 1010 254:2 / /host/root/data rw - xfs /dev/vdb rw,prjquota
1026 1025 0:74 / /host/root/data/t rw - tmpfs tmpfs rw
`;

function tree(text = CONTAINER): MountTree {
  const nodes = parseMountTree(text);
  if (nodes === undefined) throw new Error("fixture does not parse");
  return new MountTree(nodes);
}

const ids = (t: MountTree, p: string) => t.walk(p)?.map((m) => m.id);

describe("parseMountTree", () => {
  it("reads IDs, parent IDs, mount points with every octal escape decoded, and types", () => {
    const nodes = parseMountTree(CONTAINER)!;
    expect(nodes).toHaveLength(19);
    expect(nodes[1]).toEqual({ id: 1000, parentId: 900, mountPoint: "/", fsType: "overlay", device: "0:50" });
    expect(nodes.find((n) => n.id === 1022)?.mountPoint).toBe("/host/root/my dir\\x");
    // Optional fields (none, one, several) do not move the type.
    expect(parseMountTree("5 1 0:1 / /x rw shared:1 master:2 - tmpfs t rw\n")![0].fsType).toBe("tmpfs");
  });

  it.each([
    ["too few fields", "5 1 0:1 / /x rw - tmpfs\n"],
    ["no separator", "5 1 0:1 / /x rw x tmpfs t rw\n"],
    ["an ID that is not a number", "5a 1 0:1 / /x rw - tmpfs t rw\n"],
    ["a negative parent ID", "5 -1 0:1 / /x rw - tmpfs t rw\n"],
  ])("gives no tree for a file with %s", (_what, line) => {
    expect(parseMountTree(`1 0 0:1 / / rw - ext4 /dev/a rw\n${line}`)).toBeUndefined();
  });
});

describe("MountTree.walk", () => {
  it("enters the mounts a lookup crosses, the process's root first", () => {
    const t = tree();
    expect(ids(t, "/")).toEqual([1000]);
    expect(ids(t, "/host/root/run/user/1000")).toEqual([1000, 1010, 1014, 1015]);
    expect(ids(t, "/host/root/run/user/1000/x/y")).toEqual([1000, 1010, 1014, 1015]);
    expect(ids(t, "/host/root/var/lib")).toEqual([1000, 1010]);
  });

  it("goes through the mount on top of a hidden one, where the hidden one is not attached", () => {
    // /host/root/a/b was mounted first, then /host/root/a over its parent directory.
    expect(ids(tree(), "/host/root/a/b")).toEqual([1000, 1010, 1017]);
  });

  it("crosses every mount stacked at one place", () => {
    expect(ids(tree(), "/host/root/s")).toEqual([1000, 1010, 1018, 1019]);
  });

  it("does not enter a mount stacked on / after the root was set: an absolute lookup starts at the root itself", () => {
    // 2 was mounted on / (say with mount --move) after this process got its root; 3 is inside 2.
    const stackedRoot = "1 0 254:0 / / rw - ext4 /dev/a rw\n2 1 0:2 / / rw - tmpfs t rw\n3 2 0:3 / /x rw - ramfs r rw\n";
    expect(ids(tree(stackedRoot), "/x")).toEqual([1]);
    expect(walkEndsInMemoryMount(tree(stackedRoot), "/x")).toBe(false);
  });

  it("trusts the root only with the device number of / and as the one mount whose parent is not listed", () => {
    const text = "5 1 0:9 / / rw - tmpfs t rw\n6 5 0:10 / /x rw - tmpfs t rw\n";
    const nodes = parseMountTree(text)!;
    expect(new MountTree(nodes, "0:9").walk("/x")?.map((m) => m.id)).toEqual([5, 6]);
    // After a chroot into a directory of an unlisted mount, what is listed at "/" sits on top of it.
    expect(new MountTree(nodes, "254:0").walk("/x")).toBeUndefined();
    // A second mount hanging off an unlisted mount: the lower root's own children.
    expect(tree(`${text}7 4 0:11 / /y rw - tmpfs t rw\n`).walk("/x")).toBeUndefined();
    // Duplicate mount IDs (a table read in pieces while mounts changed).
    expect(tree(`${text}6 5 0:12 / /z rw - tmpfs t rw\n`).walk("/x")).toBeUndefined();
  });

  it("decides nothing for paths that are not absolute and normalized", () => {
    const t = tree();
    for (const p of ["", "host/root", "/host/root/", "/host//root", "/host/root/./run", "/host/root/run/..", "/host/../x"])
      expect(t.walk(p), p).toBeUndefined();
  });

  it('decides nothing for paths whose bytes the text may not hold: U+FFFD, and mount points removed (" (deleted)")', () => {
    const t = tree("1 0 254:0 / / rw - ext4 /dev/a rw\n2 1 0:2 / /a\uFFFD rw - tmpfs t rw\n3 1 0:3 / /b\\040(deleted) rw - tmpfs t rw\n");
    expect(t.walk("/a\uFFFD")).toBeUndefined();
    expect(t.walk("/b (deleted)")).toBeUndefined();
  });

  it("decides nothing when the table has no single root or two mounts at one place", () => {
    expect(tree("5 1 0:1 / /x rw - tmpfs t rw\n").walk("/x")).toBeUndefined();
    expect(tree("").walk("/")).toBeUndefined();
    expect(tree("1 0 0:1 / / rw - ext4 /dev/a rw\n2 9 0:2 / / rw - ext4 /dev/b rw\n").walk("/")).toBeUndefined();
    const twice = "1 0 0:1 / / rw - ext4 /dev/a rw\n2 1 0:2 / /x rw - tmpfs t rw\n3 1 0:3 / /x rw - tmpfs t rw\n";
    expect(tree(twice).walk("/x")).toBeUndefined();
    expect(
      tree(twice)
        .walk("/y")
        ?.map((m) => m.id),
    ).toEqual([1]);
  });

  it("stops on a cycle of parents instead of looping", () => {
    const cycle = "1 0 0:1 / / rw - ext4 /dev/a rw\n2 3 0:2 / /x rw - tmpfs t rw\n3 2 0:3 / /x rw - tmpfs t rw\n";
    expect(
      tree(cycle)
        .walk("/x")
        ?.map((m) => m.id),
    ).toEqual([1]);
  });
});

describe("walkEndsInMemoryMount", () => {
  it.each([
    [
      "/host/root/var/lib/kubelet/pods/abc/volumes/kubernetes.io~projected/kube-api-access-1",
      true,
      "a kubelet tmpfs volume under the host's ext4 root",
    ],
    ["/host/root/run/user/1000", true, "tmpfs on tmpfs"],
    ["/host/root/a", true, "the mount on top"],
    ["/host/root/s", true, "ramfs stacked on tmpfs"],
    ["/host/root/my dir\\x", true, "an escaped mount point"],
    ["/host/root/data/t", true, "tmpfs under xfs (the walk reads directories, never quota)"],
    ["/host/root/a/b", false, "hidden under a later mount on its parent"],
    ["/host/root/mnt/nfs/cache", false, "tmpfs under NFS"],
    ["/host/root/auto/x", false, "tmpfs under autofs"],
    ["/host/root/sshfs/t", false, "tmpfs under FUSE"],
    ["/host/root", false, "ext4"],
    ["/host/root/mnt/nfs", false, "NFS"],
    ["/host/root/run/user", false, "a directory in tmpfs, not a mount point"],
    ["/host/root/run/", false, "not normalized"],
  ])("%s: %s (%s)", (p, expected) => {
    expect(walkEndsInMemoryMount(tree(), p)).toBe(expected);
  });
});
