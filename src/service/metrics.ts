/**
 * A small Prometheus registry. Hot paths hold a pre-resolved child (`counter.labels(...)`) and call
 * `inc()` on it, which touches one number: no map lookups or strings per packet.
 */

export class MetricChild {
  value = 0;
  constructor(readonly labelText: string) {}
  inc(n = 1): void {
    this.value += n;
  }
  set(v: number): void {
    this.value = v;
  }
}

export type MetricType = "counter" | "gauge";

export class Metric {
  private readonly children = new Map<string, MetricChild>();
  /** Optional pull-style source, evaluated at scrape time (gauges such as peer counts). */
  collect: ((m: Metric) => void) | null = null;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
  ) {}

  labels(...values: string[]): MetricChild {
    if (values.length !== this.labelNames.length) {
      throw new Error(`${this.name}: expected ${this.labelNames.length} label values, got ${values.length}`);
    }
    const key = values.join("\u0000");
    let c = this.children.get(key);
    if (!c) {
      const text = values.length === 0 ? "" : `{${this.labelNames.map((n, i) => `${n}="${escapeLabel(values[i]!)}"`).join(",")}}`;
      c = new MetricChild(text);
      this.children.set(key, c);
    }
    return c;
  }

  /** Reset all children (used by pull-style gauges before re-collecting). */
  clear(): void {
    this.children.clear();
  }

  render(out: string[]): void {
    if (this.collect) this.collect(this);
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const c of this.children.values()) out.push(`${this.name}${c.labelText} ${formatValue(c.value)}`);
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Metric {
    return this.add(name, help, "counter", labelNames);
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Metric {
    return this.add(name, help, "gauge", labelNames);
  }

  get(name: string): Metric | undefined {
    return this.metrics.get(name);
  }

  private add(name: string, help: string, type: MetricType, labelNames: readonly string[]): Metric {
    const existing = this.metrics.get(name);
    if (existing) {
      if (existing.type !== type) throw new Error(`metric ${name} registered twice with different types`);
      return existing;
    }
    const m = new Metric(name, help, type, labelNames);
    this.metrics.set(name, m);
    return m;
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics.values()) m.render(out);
    return out.join("\n") + "\n";
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
