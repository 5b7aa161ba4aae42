// Types for the systeminformation files the host inventory imports one by one (agent/host/inventory.ts
// says why), from the package's own declarations.
declare module "systeminformation/lib/cpu.js" {
  export { cpu } from "systeminformation";
}
declare module "systeminformation/lib/memory.js" {
  export { mem } from "systeminformation";
}
declare module "systeminformation/lib/system.js" {
  export { system } from "systeminformation";
}
declare module "systeminformation/lib/osinfo.js" {
  export { osInfo } from "systeminformation";
}
