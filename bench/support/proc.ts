/**
 * What a process costs, read from /proc (Linux only): resident memory now and at its peak
 * (VmRSS, VmHWM), and CPU time, so every figure can say which process the time went to.
 */
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc/<pid>/stat times (getconf CLK_TCK; 100 on Linux). */
const CLOCK_TICKS = 100;

export interface Memory {
  rssMb: number;
  peakRssMb: number;
}

function statusField(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]) / 1024;
}

/** VmRSS and VmHWM in MiB; undefined when the process is gone. */
export function memoryOf(pid: number): Memory | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssMb = statusField(text, 'VmRSS');
    const peakRssMb = statusField(text, 'VmHWM');
    return rssMb === undefined || peakRssMb === undefined ? undefined : { rssMb, peakRssMb };
  } catch {
    return undefined;
  }
}

/** User plus system CPU seconds the process has used so far (its own threads, not its children). */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

export interface CpuWindow {
  /** CPU seconds each named process used inside the window. */
  seconds: Record<string, number>;
  /** The same as a share of one core over the window (1 = one core fully busy). */
  cores: Record<string, number>;
  /** Every core on the machine, busy share (0..cores). */
  machineCores: number;
  /** What the named processes do not explain: other engineers' work, the kernel, short-lived children. */
  otherCores: number;
  wallSeconds: number;
}

/** CPU used by each named process between start() and stop(). */
export class CpuMeter {
  private startCpu: Record<string, number> = {};
  private startMachine = machineCpuSeconds();
  private startedAt = Date.now();

  constructor(private readonly pids: Record<string, number>) {}

  start(): this {
    this.startedAt = Date.now();
    this.startMachine = machineCpuSeconds();
    this.startCpu = Object.fromEntries(Object.entries(this.pids).map(([name, pid]) => [name, cpuSecondsOf(pid) ?? 0]));
    return this;
  }

  stop(): CpuWindow {
    const wallSeconds = Math.max(0.001, (Date.now() - this.startedAt) / 1000);
    const machine = machineCpuSeconds();
    const seconds: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) seconds[name] = Math.max(0, (cpuSecondsOf(pid) ?? 0) - (this.startCpu[name] ?? 0));
    const cores = Object.fromEntries(Object.entries(seconds).map(([name, used]) => [name, used / wallSeconds]));
    const machineCores = (machine.busy - this.startMachine.busy) / wallSeconds;
    const ours = Object.values(cores).reduce((sum, value) => sum + value, 0);
    return { seconds, cores, machineCores, otherCores: Math.max(0, machineCores - ours), wallSeconds };
  }
}

/** Samples VmRSS of each process at an interval; keeps the last and the peak seen. */
export class RssSampler {
  private readonly last: Record<string, number> = {};
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: Record<string, number>,
    everyMs = 500,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
    this.sample();
  }

  private sample(): void {
    for (const [name, pid] of Object.entries(this.pids)) {
      const memory = memoryOf(pid);
      if (memory) this.last[name] = memory.rssMb;
    }
  }

  /** VmHWM (the kernel's own peak, exact) for each process still alive. */
  peaks(): Record<string, number> {
    const result: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const memory = memoryOf(pid);
      if (memory) result[name] = memory.peakRssMb;
    }
    return result;
  }

  current(): Record<string, number> {
    this.sample();
    return { ...this.last };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export interface QuietCheck {
  quiet: boolean;
  waitedMs: number;
  /** Busy cores over the last window before the run started (our idle processes included). */
  busyCores: number;
}

/**
 * The machine is shared: before a measured window, wait (bounded) until the whole machine is
 * nearly idle, so other people's test runs fall on as few measurements as possible.
 */
export async function waitForQuiet(options: { thresholdCores?: number; windowMs?: number; maxWaitMs?: number } = {}): Promise<QuietCheck> {
  const threshold = options.thresholdCores ?? 0.4;
  const windowMs = options.windowMs ?? 2000;
  const started = Date.now();
  for (;;) {
    const before = machineCpuSeconds();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = machineCpuSeconds();
    const busyCores = (after.busy - before.busy) / (windowMs / 1000);
    const waitedMs = Date.now() - started;
    if (busyCores < threshold) return { quiet: true, waitedMs, busyCores };
    if (waitedMs >= (options.maxWaitMs ?? 120_000)) return { quiet: false, waitedMs, busyCores };
  }
}
