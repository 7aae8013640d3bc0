/**
 * `sys/host-info`: Vault's shape (`cpu`, `cpu_times`, `disk`, `host`, `memory`, `timestamp`, with gopsutil's
 * field names) from node:os, fs.statfs and /proc where it exists. Sudo-protected, as in Vault: it describes the
 * machine. Fields this runtime cannot know are left out rather than invented.
 */
import os from 'node:os';
import { readFile, statfs } from 'node:fs/promises';
import type { PathSpec } from '../../sdk/backend.js';

/** Reads a small system file; null where it does not exist (not Linux, a container without it). */
async function readOptional(file: string): Promise<string | null> {
  return readFile(file, 'utf8').catch(() => null);
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const percent = (part: number, whole: number) => (whole > 0 ? (part / whole) * 100 : 0);

function cpuInfo(cpus: os.CpuInfo[]) {
  return cpus.map((c, i) => ({ cpu: i, modelName: c.model, mhz: c.speed, cores: 1 }));
}

/** gopsutil reports CPU times in seconds; Node gives milliseconds. */
function cpuTimes(cpus: os.CpuInfo[]) {
  return cpus.map((c, i) => ({
    cpu: `cpu${i}`,
    user: c.times.user / 1000,
    system: c.times.sys / 1000,
    idle: c.times.idle / 1000,
    nice: c.times.nice / 1000,
    irq: c.times.irq / 1000,
  }));
}

async function diskUsage(path: string) {
  const st = await statfs(path);
  const total = st.blocks * st.bsize;
  const free = st.bavail * st.bsize;
  const used = (st.blocks - st.bfree) * st.bsize;
  const inodesUsed = st.files - st.ffree;
  return {
    path,
    total,
    free,
    used,
    usedPercent: percent(used, used + free),
    inodesTotal: st.files,
    inodesUsed,
    inodesFree: st.ffree,
    inodesUsedPercent: percent(inodesUsed, st.files),
  };
}

/** MemAvailable from /proc/meminfo (kB) where there is one; os.freemem() otherwise. */
async function memory() {
  const total = os.totalmem();
  const free = os.freemem();
  const meminfo = await readOptional('/proc/meminfo');
  const availableKb = meminfo && /^MemAvailable:\s+(\d+) kB/m.exec(meminfo)?.[1];
  const available = availableKb ? Number(availableKb) * 1024 : free;
  return { total, available, used: total - available, usedPercent: round2(percent(total - available, total)), free };
}

async function host() {
  const release = await readOptional('/etc/os-release');
  const field = (name: string) => (release && new RegExp(`^${name}="?([^"\\n]*)"?$`, 'm').exec(release)?.[1]) || undefined;
  const uptime = Math.floor(os.uptime());
  return {
    hostname: os.hostname(),
    uptime,
    bootTime: Math.floor(Date.now() / 1000) - uptime,
    os: process.platform,
    platform: field('ID'),
    platformVersion: field('VERSION_ID'),
    kernelVersion: os.release(),
    kernelArch: os.machine(),
    hostid: (await readOptional('/etc/machine-id'))?.trim() || undefined,
  };
}

export function hostInfoPaths(): PathSpec[] {
  return [
    {
      pattern: 'host-info',
      sudo: true,
      operations: {
        read: async () => {
          const cpus = os.cpus();
          return {
            data: {
              cpu: cpuInfo(cpus),
              cpu_times: cpuTimes(cpus),
              disk: [await diskUsage('/')],
              host: await host(),
              memory: await memory(),
              timestamp: new Date().toISOString(),
            },
          };
        },
      },
      help: "Information about the host: CPU, disk, memory (Vault's sys/host-info).",
    },
  ];
}
