import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";

/**
 * One long-lived psql process fed through a pipe: statements are written to its stdin one at a
 * time, so the same client session (the same backend) runs everything.
 */
export class LivePsql {
  readonly #child: ChildProcessWithoutNullStreams;
  #stdout = "";
  #stderr = "";
  #marks = 0;
  #waiters: (() => void)[] = [];

  constructor(conninfo: string, password: string) {
    this.#child = spawn("psql", [conninfo, "-X", "-At", "-v", "ON_ERROR_STOP=0"], {
      env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: "10" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.#child.stdout.on("data", (d: Buffer) => {
      this.#stdout += d.toString();
      this.#wake();
    });
    this.#child.stderr.on("data", (d: Buffer) => {
      this.#stderr += d.toString();
      this.#wake();
    });
    this.#child.on("close", () => this.#wake());
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  /** Runs one statement (or psql command) and returns what it printed on stdout and stderr. */
  async run(statement: string, timeoutMs = 20_000): Promise<{ stdout: string; stderr: string }> {
    const mark = `__sluice_mark_${++this.#marks}__`;
    const outStart = this.#stdout.length;
    const errStart = this.#stderr.length;
    this.#child.stdin.write(`${statement}\n\\echo ${mark}\n\\warn ${mark}\n`);
    const deadline = Date.now() + timeoutMs;
    while (!(this.#stdout.includes(mark, outStart) && this.#stderr.includes(mark, errStart))) {
      if (this.exited) throw new Error(`psql exited: ${this.#stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`psql timed out on ${statement}: ${this.#stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const cut = (text: string, start: number) => text.slice(start, text.indexOf(mark, start)).trim();
    return { stdout: cut(this.#stdout, outStart), stderr: cut(this.#stderr, errStart) };
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const closed = new Promise<void>((resolve) => this.#child.once("close", () => resolve()));
    this.#child.stdin.end("\\q\n");
    await closed;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
