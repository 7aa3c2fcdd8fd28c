// Runs every PromQL expression of config/grafana/optd.json against a real Prometheus over the
// time of a test run and fails unless each returns data; also checks that optd's series moved.
//   node check_dashboard.mjs DASHBOARD.json PROMETHEUS_URL START_UNIX END_UNIX
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const [dashboardPath, prometheus, start, end] = process.argv.slice(2);
const dashboard = JSON.parse(readFileSync(dashboardPath, "utf8"));

async function range(expr) {
  const q = new URLSearchParams({ query: expr, start, end, step: "1" });
  const res = await fetch(`${prometheus}/api/v1/query_range?${q}`);
  const body = await res.json();
  assert.equal(body.status, "success", `${expr}: ${JSON.stringify(body)}`);
  return body.data.result;
}
const numbers = (series) => series.flatMap((s) => s.values.map(([, v]) => Number(v))).filter((v) => !Number.isNaN(v));

let failed = 0;
const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
for (const { panel, expr } of exprs) {
  // Grafana's $__rate_interval is four scrape intervals at least; the test scrapes every second.
  const result = await range(expr.replaceAll("$__rate_interval", "10s"));
  const values = numbers(result);
  const ok = values.length > 0;
  console.log(`${ok ? "ok  " : "FAIL"} ${panel}: ${expr} (${result.length} series, ${values.length} points)`);
  if (!ok) failed++;
}

// The series arrive and move while a run goes on.
for (const expr of ["sum(optd_llm_requests_total)", "sum(optd_llm_tokens_total)", "sum(optd_trials_started_total)"]) {
  const values = numbers(await range(expr));
  const moved = values.length > 1 && Math.max(...values) > Math.min(...values);
  console.log(`${moved ? "ok  " : "FAIL"} moves: ${expr} from ${Math.min(...values)} to ${Math.max(...values)}`);
  if (!moved) failed++;
}
if (failed) {
  console.error(`${failed} checks failed`);
  process.exit(1);
}
console.log(`all ${exprs.length} dashboard expressions return data`);
