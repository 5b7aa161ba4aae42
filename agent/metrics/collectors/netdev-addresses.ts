import type { NetworkInterfaceInfo } from "node:os";

/**
 * node_network_address_info rows (netdev's --collector.netdev.address-info). node_exporter lists
 * the addresses of this network namespace with Go's net.Interfaces (rtnetlink); nodetap takes the
 * same list from os.networkInterfaces() (getifaddrs in-process, no subprocess). One difference:
 * libuv leaves out interfaces that are not both UP and RUNNING, so their addresses are not listed.
 */

export interface AddressInfoRow {
  device: string;
  address: string;
  /** Prefix length as text, e.g. "24" (Go's IPMask.Size()); "0" for a non-canonical mask. */
  netmask: string;
  /** "link-local", "interface-local", "global" or "" (node_exporter's scope()). */
  scope: string;
}

export function addressInfoRows(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): AddressInfoRow[] {
  const rows: AddressInfoRow[] = [];
  for (const [device, addresses] of Object.entries(interfaces)) {
    for (const info of addresses ?? []) {
      const bytes = info.family === "IPv4" ? ipv4Bytes(info.address) : ipv6Bytes(info.address);
      // Go skips addresses whose CIDR form does not parse.
      if (bytes === undefined) continue;
      const slash = info.cidr === null ? -1 : info.cidr.lastIndexOf("/");
      const netmask = slash < 0 ? "0" : info.cidr!.slice(slash + 1);
      rows.push({ device, address: info.address, netmask, scope: ipScope(bytes) });
    }
  }
  return rows;
}

/** Go's scope() in netdev_common.go, on a 4- or 16-byte address. */
export function ipScope(ip: Uint8Array): string {
  const v4 = ip.length === 4;
  const isLoopback = v4 ? ip[0] === 127 : isIPv6Loopback(ip);
  const isLinkLocalUnicast = v4 ? ip[0] === 169 && ip[1] === 254 : ip[0] === 0xfe && (ip[1] & 0xc0) === 0x80;
  const isLinkLocalMulticast = v4 ? ip[0] === 224 && ip[1] === 0 && ip[2] === 0 : ip[0] === 0xff && (ip[1] & 0x0f) === 0x02;
  if (isLoopback || isLinkLocalUnicast || isLinkLocalMulticast) return "link-local";
  if (!v4 && ip[0] === 0xff && (ip[1] & 0x0f) === 0x01) return "interface-local";
  const isMulticast = v4 ? (ip[0] & 0xf0) === 0xe0 : ip[0] === 0xff;
  const isUnspecified = ip.every((b) => b === 0);
  const isBroadcast = v4 && ip.every((b) => b === 255);
  if (!isUnspecified && !isMulticast && !isBroadcast) return "global";
  return "";
}

function isIPv6Loopback(ip: Uint8Array): boolean {
  for (let i = 0; i < 15; i++) if (ip[i] !== 0) return false;
  return ip[15] === 1;
}

export function ipv4Bytes(address: string): Uint8Array | undefined {
  const parts = address.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** 16 bytes of an IPv6 address in text form ("::", embedded IPv4 tail, no zone); undefined if invalid. */
export function ipv6Bytes(address: string): Uint8Array | undefined {
  let text = address;
  const out = new Uint8Array(16);
  let tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(":");
  if (lastColon >= 0 && text.indexOf(".", lastColon) > 0) {
    tail = ipv4Bytes(text.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const values: number[] = [];
    for (const g of half.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      values.push(parseInt(g, 16));
    }
    return values;
  };
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  if (head === undefined || rest === undefined) return undefined;
  if (halves.length === 1 ? head.length !== 8 : head.length + rest.length > 7) return undefined;
  const all = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i] >> 8;
    out[2 * i + 1] = all[i] & 0xff;
  }
  if (tail !== undefined) out.set(tail, 12);
  return out;
}
