'use strict';
// BullMQ side of benchmarks/redis-vs-bullmq.sh: the same no-op workload as MediaGen.Redis.Benchmarks, on the same
// redis-server. Prints one JSON line per scenario.
const { Queue, Worker } = require('bullmq');
const IORedis = require('ioredis');
const { performance } = require('node:perf_hooks');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const [host, port] = arg('--redis', process.env.MEDIAGEN_REDIS || '127.0.0.1:6379').split(':');
const jobs = Number(arg('--jobs', '20000'));
const concurrencies = arg('--concurrency', '1,16,256').split(',').map(Number);
const rate = Number(arg('--rate', '1000'));
const latencySeconds = Number(arg('--latency-seconds', '10'));
const runId = Math.random().toString(16).slice(2, 10);
const connection = { host, port: Number(port), maxRetriesPerRequest: null };
const jobOptions = { removeOnComplete: true, removeOnFail: true };

function cpuMicros() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function serverCpuSeconds(admin) {
  const info = await admin.info('cpu');
  const get = (k) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)[1]);
  return get('used_cpu_sys') + get('used_cpu_user');
}

// Producer and consumer at once; the clock runs from the first add to the last completion.
async function throughput(name, count, concurrency) {
  const queue = new Queue(name, { connection });
  let done = 0;
  let finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const worker = new Worker(name, async () => {}, { connection, concurrency });
  worker.on('completed', () => { if (++done === count) finish(); });
  await worker.waitUntilReady();
  const started = performance.now();
  for (let start = 0; start < count; start += 1000) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + 1000); i++) {
      batch.push({ name: 'noop', data: { i }, opts: jobOptions });
    }
    await queue.addBulk(batch);
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return seconds;
}

// Steady adds at `rate` per second while a worker with 16 slots runs; enqueue-to-start is from the add call to the
// moment the processor starts.
async function latency(name, perSecond, seconds, concurrency) {
  const total = perSecond * seconds;
  const sentAt = new Float64Array(total);
  const latencies = new Float64Array(total);
  const queue = new Queue(name, { connection });
  let received = 0;
  let finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const worker = new Worker(name, async (job) => {
    latencies[job.data.i] = performance.now() - sentAt[job.data.i];
    if (++received === total) finish();
  }, { connection, concurrency });
  await worker.waitUntilReady();
  // Paced by a 1 ms timer (as the .NET side is): each tick adds every job whose time has come, without spinning.
  const start = performance.now();
  const adds = [];
  let next = 0;
  while (next < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * perSecond) / 1000) + 1);
    for (; next < due; next++) {
      sentAt[next] = performance.now();
      adds.push(queue.add('noop', { i: next }, jobOptions));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(adds);
  await finished;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  return { p50: sorted[Math.floor(total / 2)], p99: sorted[Math.floor(total * 0.99)], total };
}

async function main() {
  const admin = new IORedis(connection);
  await throughput(`bench-${runId}-warm`, 2000, 16);
  for (const concurrency of concurrencies) {
    const serverCpu = await serverCpuSeconds(admin);
    const cpu = cpuMicros();
    const seconds = await throughput(`bench-${runId}-c${concurrency}`, jobs, concurrency);
    const clientCpu = cpuMicros() - cpu;
    const serverCpuUs = (await serverCpuSeconds(admin) - serverCpu) * 1e6;
    console.log(JSON.stringify({
      impl: 'bullmq', scenario: 'throughput', concurrency, jobs,
      jobsPerSecond: Math.round(jobs / seconds),
      clientCpuUsPerJob: Math.round((clientCpu / jobs) * 10) / 10,
      redisCpuUsPerJob: Math.round((serverCpuUs / jobs) * 10) / 10,
    }));
  }
  const l = await latency(`bench-${runId}-latency`, rate, latencySeconds, 16);
  console.log(JSON.stringify({
    impl: 'bullmq', scenario: 'latency', rate, jobs: l.total,
    p50Ms: Math.round(l.p50 * 100) / 100, p99Ms: Math.round(l.p99 * 100) / 100,
  }));
  await admin.quit();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
