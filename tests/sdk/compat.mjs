// Opik's official TypeScript SDK (npm `opik`) pointed at a running optd: everything a team does
// with it against Opik's own backend, checked step by step. Run by tests/sdk/run.sh, which starts
// optd and llm-sim and sets OPIK_URL_OVERRIDE. Exits non-zero with the failed check.
import assert from "node:assert/strict";
import { Opik } from "opik";
import { v7 as uuidv7 } from "uuid";

const apiUrl = process.env.OPIK_URL_OVERRIDE;
assert.ok(apiUrl, "OPIK_URL_OVERRIDE must point at optd's /api");
const client = new Opik({ apiUrl, apiKey: process.env.OPIK_API_KEY ?? "", projectName: "optd-compat", workspaceName: "default" });
const api = client.api;

function step(name) {
  console.log(`- ${name}`);
}

async function waitFor(id, statuses, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const o = await api.optimizations.getOptimizationById(id);
    if (statuses.includes(o.status)) return o;
    if (Date.now() > deadline) throw new Error(`optimization ${id} still ${o.status} after ${seconds}s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function studioConfig(datasetName) {
  return {
    datasetName,
    prompt: { messages: [{ role: "system", content: "You are a helpful assistant." }, { role: "user", content: "{{question}}" }] },
    llmModel: { model: "sim-small", parameters: { temperature: 0 } },
    evaluation: { metrics: [{ type: "equals", parameters: { reference_key: "answer" } }] },
    optimizer: { type: "meta_prompt", parameters: { seed: 7, prompts_per_round: 2 } },
  };
}

// The SDK's minified stack traces bury the message: print what failed, then exit 1.
function fail(e) {
  console.error(`FAILED: ${e?.message ?? e}${e?.body ? ` ${JSON.stringify(e.body)}` : ""}`);
  process.exit(1);
}
process.on("unhandledRejection", fail);
process.on("uncaughtException", fail);

step("dataset and items through the SDK");
const datasetName = `compat-skills-${Date.now()}`;
const dataset = await client.getOrCreateDataset(datasetName, "arithmetic for the SDK test");
const rows = [];
for (let i = 0; i < 8; i++) rows.push({ question: `What is ${i} + 3?`, answer: String(i + 3) });
await dataset.insert(rows);
const stored = await dataset.getItems();
assert.equal(stored.length, 8, "all items read back");
assert.deepEqual(stored.map((r) => r.answer).sort(), rows.map((r) => r.answer).sort());
assert.equal(await dataset.getItemsCount(), 8);
const again = await client.getOrCreateDataset(datasetName);
assert.equal(again.id, dataset.id, "getOrCreate finds the same dataset");

step("an optimization with a studio_config, run by optd");
const id = uuidv7();
await api.optimizations.createOptimization({
  id, name: "sdk-compat", datasetName, objectiveName: "equals", status: "initialized",
  metadata: { source: "sdk-compat" }, studioConfig: studioConfig(datasetName),
});
const done = await waitFor(id, ["completed", "error"]);
assert.equal(done.status, "completed", JSON.stringify(done));
assert.equal(done.name, "sdk-compat");
assert.equal(done.metadata.source, "sdk-compat");
assert.ok(done.numTrials >= 2, `numTrials ${done.numTrials}`);
assert.equal(typeof done.baselineObjectiveScore, "number");
assert.ok(done.bestObjectiveScore >= done.baselineObjectiveScore);
assert.ok(done.totalOptimizationCost > 0);
assert.ok(done.feedbackScores.some((s) => s.name === "equals"));
const listed = await api.optimizations.findOptimizations({ name: "sdk-compat" });
assert.ok(listed.content.some((o) => o.id === id));

step("its trials as experiments");
const experiments = await api.experiments.findExperiments({ optimizationId: id, types: JSON.stringify(["trial"]), size: 100 });
assert.equal(experiments.total, done.numTrials);
for (const e of experiments.content) {
  assert.equal(e.optimizationId, id);
  assert.equal(e.type, "trial");
  assert.equal(e.traceCount, 8);
}
const best = Math.max(...experiments.content.map((e) => e.feedbackScores.find((s) => s.name === "equals").value));
assert.ok(Math.abs(best - done.bestObjectiveScore) < 1e-9, "best experiment score is the optimization's best");
const byDataset = await api.experiments.findExperiments({ datasetId: dataset.id, size: 100 });
assert.equal(byDataset.total, done.numTrials);

step("experiment items through the SDK's Experiment");
const experiment = await client.getExperimentById(experiments.content[0].id);
const items = await experiment.getItems();
assert.equal(items.length, 8);
for (const it of items) {
  assert.ok(it.traceId && it.datasetItemId);
  assert.ok(it.feedbackScores.some((s) => s.name === "equals"));
}

step("dataset items with experiment items");
const ids = experiments.content.map((e) => e.id);
const compare = await api.datasets.findDatasetItemsWithExperimentItems(dataset.id, { experimentIds: JSON.stringify(ids), size: 100 });
assert.equal(compare.total, 8);
for (const item of compare.content) {
  assert.equal(item.experimentItems.length, ids.length);
  for (const ei of item.experimentItems) assert.ok(ei.feedbackScores.length > 0 && ei.output);
}

step("the run's logs");
const logs = await api.optimizations.getStudioOptimizationLogs(id);
// As Opik's UI reads it: a presigned download, fetched with no token, inflated as gzip.
const gz = await (await fetch(logs.url)).arrayBuffer();
const text = await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
assert.match(text, /trial/);

step("a second run cancelled through the SDK");
const second = uuidv7();
await api.optimizations.createOptimization({
  id: second, name: "sdk-compat-cancel", datasetName, objectiveName: "equals", status: "initialized",
  studioConfig: studioConfig(datasetName),
});
await api.optimizations.cancelStudioOptimizations(second);
const cancelled = await waitFor(second, ["cancelled", "completed", "error"]);
assert.equal(cancelled.status, "cancelled");

step("an optimizer that runs elsewhere logs its optimization into optd through the SDK");
// As Opik's optimizers log one: traces with an LLM span and a score, linked to trial experiments.
// The SDK sends the experiment items at once, the traces, spans and scores from queues that
// flush later: optd must count them whatever the order.
const logged = uuidv7();
await api.optimizations.createOptimization({
  id: logged, name: "sdk-logged", datasetName, objectiveName: "accuracy", status: "running",
  metadata: { optimizer: "ExternalOptimizer" },
});
const datasetItems = await dataset.getItems();
async function logExperiment(type, accuracyOf, count) {
  const experiment = await client.createExperiment({
    datasetName, type, optimizationId: logged,
    experimentConfig: { configuration: { prompt: [{ role: "user", content: "{{question}}" }] } },
  });
  const refs = datasetItems.slice(0, count).map((item, i) => {
    const trace = client.trace({ name: "evaluation_task", input: { question: item.question },
                                 output: { llm_output: item.answer }, tags: [logged, "Evaluation"] });
    trace.span({ name: "llm", type: "llm", model: "sim-small",
                 usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 }, totalEstimatedCost: 0.001 }).end();
    trace.score({ name: "accuracy", value: accuracyOf(i) });
    trace.end();
    return { datasetItemId: item.id, traceId: trace.data.id };
  });
  await experiment.insert(refs);
  return experiment;
}
await logExperiment("trial", (i) => (i % 2 ? 1 : 0), 8);  // the baseline: 4 of 8
await logExperiment("mini-batch", () => 1, 2);            // a screening: perfect, but never the best
const full = await logExperiment("trial", (i) => (i === 0 ? 0 : 1), 8);  // 7 of 8
await client.flush();
const read = await api.optimizations.getOptimizationById(logged);
assert.equal(read.numTrials, 3);
assert.equal(read.baselineObjectiveScore, 0.5);
assert.equal(read.bestObjectiveScore, 0.875);
assert.ok(Math.abs(read.totalOptimizationCost - 0.018) < 1e-9, `cost ${read.totalOptimizationCost}`);  // 18 spans
const fullItems = await (await client.getExperimentById(full.id)).getItems();
assert.equal(fullItems.length, 8);
assert.equal(fullItems.filter((it) => it.feedbackScores.some((s) => s.name === "accuracy" && s.value === 1)).length, 7);

step("errors reach the SDK as Opik's");
await assert.rejects(api.optimizations.getOptimizationById(uuidv7()), (e) => e.statusCode === 404);
await assert.rejects(client.getDataset(`missing-${Date.now()}`));

console.log("opik SDK compatibility: all checks passed");
