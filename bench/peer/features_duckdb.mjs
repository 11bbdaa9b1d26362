#!/usr/bin/env node
// The DuckDB peer of churnpipe's feature pass.
//
// Computes churnpipe's per-customer feature table (features.Schema, every
// column: see features/columns.go) in one SQL query straight from the same
// Parquet history that churnpipe reads (read_parquet: customer_id,
// event_time, event_type, amount), with DuckDB from npm (@duckdb/node-api,
// installed under bench/peer: `npm ci --prefix bench/peer`). Every column is
// expressed in SQL; none is left out.
//
//   node bench/peer/features_duckdb.mjs HISTORY.parquet [--as-of 2025-12-31]
//        [--threads 2] [--in-memory] [--out features.csv] [--check go_features.csv]
//
// Prints one JSON object:
//   rows, excluded, customers        events read, events after the as-of day, feature rows
//   read_features_seconds            the feature query from the Parquet file (read + features)
//   read_seconds, features_seconds   with --in-memory: loading the history into a DuckDB table,
//                                    then the same query on that table
//   peak_rss_mib                     the process's maximum RSS (DuckDB runs inside it)
// --out writes the table (sorted by customer_id) as CSV; --check compares it
// with `churnpipe features --out X.csv` (floats to 1e-9 relative, dates as
// days) and exits 1 when a column differs. Timings are wall clock.
import { DuckDBInstance } from '@duckdb/node-api';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const opt = { asOf: '2025-12-31', threads: 2, inMemory: false, out: null, check: null };
let history = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--as-of') opt.asOf = args[++i];
  else if (a === '--threads') opt.threads = Number(args[++i]);
  else if (a === '--in-memory') opt.inMemory = true;
  else if (a === '--out') opt.out = args[++i];
  else if (a === '--check') opt.check = args[++i];
  else if (a === '-h' || a === '--help') { console.log('usage: features_duckdb.mjs HISTORY.parquet [--as-of DAY] [--threads N] [--in-memory] [--out CSV] [--check GO.csv]'); process.exit(0); }
  else if (history === null) history = a;
  else { console.error(`unexpected argument ${a}`); process.exit(2); }
}
if (!history || !/^\d{4}-\d\d-\d\d$/.test(opt.asOf)) {
  console.error('usage: features_duckdb.mjs HISTORY.parquet [--as-of YYYY-MM-DD] …');
  process.exit(2);
}
const q = (s) => "'" + String(s).replaceAll("'", "''") + "'";
const ACTIVITY_MONTHS = 12;
const asofDay = Math.floor(Date.parse(opt.asOf + 'T00:00:00Z') / 86_400_000);
const [ay, am] = opt.asOf.split('-').map(Number);
const asofMon = ay * 12 + am - 1;

// mon(day): year*12 + month-1 of a UTC day number.
const mon = (d) => `(year(DATE '1970-01-01' + (${d})::INTEGER) * 12 + month(DATE '1970-01-01' + (${d})::INTEGER) - 1)`;

function featureSQL(src) {
  const act = [];
  for (let k = 1; k <= ACTIVITY_MONTHS; k++) {
    act.push(`coalesce(sum(n) FILTER (WHERE ${asofMon} - emon = ${k}), 0)::INTEGER AS activity_m${k}`);
  }
  const actCols = [];
  for (let k = 1; k <= ACTIVITY_MONTHS; k++) actCols.push(`coalesce(mo.activity_m${k}, 0) AS activity_m${k}`);
  return `
WITH ev AS (
  SELECT customer_id AS cid, (epoch_ms(event_time) // 86400000)::INTEGER AS day, event_type AS typ,
         coalesce(amount, 0.0) AS amount
  FROM ${src}
  WHERE epoch_ms(event_time) // 86400000 <= ${asofDay}
),
base AS (
  SELECT cid, min(day) AS first_event_day, max(day) AS last_event_day, count(*) AS event_count,
    count(*) FILTER (WHERE typ = 'purchase') AS purchase_count,
    count(*) FILTER (WHERE typ = 'return') AS return_count,
    count(*) FILTER (WHERE typ = 'visit') AS visit_count,
    count(*) FILTER (WHERE typ = 'support') AS support_count,
    count(*) FILTER (WHERE typ = 'visit' AND ${asofDay} - day < 90) AS visit_count_90,
    count(*) FILTER (WHERE typ = 'support' AND ${asofDay} - day < 90) AS support_count_90,
    coalesce(sum(abs(amount)) FILTER (WHERE typ = 'return'), 0.0) AS return_amount
  FROM ev GROUP BY cid
),
daily AS (   -- events per customer and day: the months below are computed per day, not per event
  SELECT cid, day, count(*) AS n FROM ev GROUP BY cid, day
),
pdays AS (   -- one row per (customer, purchase day) with the day's amount
  SELECT cid, day, sum(amount) AS amt FROM ev WHERE typ = 'purchase' GROUP BY cid, day
),
pgaps AS (
  SELECT cid, day, amt, day - lag(day) OVER (PARTITION BY cid ORDER BY day) AS gap FROM pdays
),
pf AS (
  SELECT cid, count(*) AS purchase_days, min(day) AS first_purchase_day, max(day) AS last_purchase_day,
    sum(amt) AS gross_spend, max(amt) AS spend_max, arg_min(amt, day) AS first_day_amount,
    count(*) FILTER (WHERE ${asofDay} - day < 30) AS purchase_days_30,
    count(*) FILTER (WHERE ${asofDay} - day < 90) AS purchase_days_90,
    count(*) FILTER (WHERE ${asofDay} - day < 180) AS purchase_days_180,
    count(*) FILTER (WHERE ${asofDay} - day < 365) AS purchase_days_365,
    coalesce(sum(amt) FILTER (WHERE ${asofDay} - day < 90), 0.0) AS spend_90,
    avg(gap) AS gap_mean_days, stddev_samp(gap) AS gap_std_days,
    arg_min(gap, day) FILTER (WHERE ${asofDay} - day < 90 AND gap IS NOT NULL) AS gap_before_recent_days
  FROM pgaps GROUP BY cid
),
monthly AS (
  SELECT d.cid, ${mon('d.day')} AS emon, sum(d.n) AS n, any_value(${mon('pf.first_purchase_day')}) AS first_mon
  FROM daily d LEFT JOIN pf ON pf.cid = d.cid
  GROUP BY d.cid, emon
),
mo AS (
  SELECT cid,
    coalesce(sum(n) FILTER (WHERE emon >= first_mon AND emon <= ${asofMon} - 4), 0) AS earlier,
    any_value(first_mon) AS first_mon,
    ${act.join(',\n    ')}
  FROM monthly GROUP BY cid
)
SELECT b.cid AS customer_id,
  DATE '1970-01-01' + b.first_event_day AS first_event_date,
  DATE '1970-01-01' + pf.first_purchase_day AS first_purchase_date,
  DATE '1970-01-01' + pf.last_purchase_day AS last_purchase_date,
  ${asofDay} - pf.first_purchase_day AS tenure_days,
  ${asofDay} - pf.last_purchase_day AS days_since_last_purchase,
  ${asofDay} - b.last_event_day AS days_since_last_event,
  coalesce(pf.purchase_days, 0) AS purchase_days,
  coalesce(pf.purchase_days_30, 0) AS purchase_days_30,
  coalesce(pf.purchase_days_90, 0) AS purchase_days_90,
  coalesce(pf.purchase_days_180, 0) AS purchase_days_180,
  coalesce(pf.purchase_days_365, 0) AS purchase_days_365,
  b.purchase_count, b.return_count, b.visit_count, b.support_count,
  b.event_count - b.purchase_count - b.return_count - b.visit_count - b.support_count AS other_event_count,
  b.event_count, b.visit_count_90, b.support_count_90,
  coalesce(pf.gross_spend, 0.0) AS gross_spend,
  b.return_amount,
  coalesce(pf.gross_spend, 0.0) - b.return_amount AS net_spend,
  pf.gross_spend / pf.purchase_days AS spend_mean,
  pf.spend_max,
  coalesce(pf.spend_90, 0.0) AS spend_90,
  pf.gap_mean_days, pf.gap_std_days, pf.gap_before_recent_days,
  greatest(${asofMon} - mo.first_mon, 0) AS tenure_months,
  CASE WHEN ${asofMon} - 3 - mo.first_mon > 0 THEN mo.earlier / (${asofMon} - 3 - mo.first_mon) END AS activity_earlier_mean,
  ${actCols.join(',\n  ')},
  greatest(coalesce(pf.purchase_days, 0) - 1, 0) AS repeat_purchases,
  coalesce(pf.last_purchase_day - pf.first_purchase_day, 0) AS first_to_last_days,
  coalesce(${asofDay} - pf.first_purchase_day, 0) AS first_to_asof_days,
  CASE WHEN pf.purchase_days > 1 THEN (pf.gross_spend - pf.first_day_amount) / (pf.purchase_days - 1) ELSE 0.0 END AS repeat_spend_mean
FROM base b LEFT JOIN pf ON pf.cid = b.cid LEFT JOIN mo ON mo.cid = b.cid
ORDER BY customer_id`;
}

const now = () => Number(process.hrtime.bigint()) / 1e9;
const inst = await DuckDBInstance.create(':memory:', { threads: String(opt.threads) });
const con = await inst.connect();
await con.run(`SET TimeZone = 'UTC'`);
const pq = `read_parquet(${q(history)})`;
const one = async (sql) => (await con.runAndReadAll(sql)).getRows()[0];

const res = { peer: 'duckdb ' + (await one('SELECT version()'))[0] + ' (@duckdb/node-api ' + require('@duckdb/node-api/package.json').version + ')', input: history, threads: opt.threads };
const [rows, excluded] = await one(`SELECT count(*), count(*) FILTER (WHERE epoch_ms(event_time) // 86400000 > ${asofDay}) FROM ${pq}`);
res.rows = Number(rows);
res.excluded = Number(excluded);

let t0 = now();
await con.run(`CREATE TEMP TABLE feat AS ${featureSQL(pq)}`);
res.read_features_seconds = now() - t0;
res.customers = Number((await one('SELECT count(*) FROM feat'))[0]);
if (opt.inMemory) {
  t0 = now();
  await con.run(`CREATE TEMP TABLE hist AS SELECT customer_id, event_time, event_type, amount FROM ${pq}`);
  const t1 = now();
  await con.run(`CREATE TEMP TABLE feat_mem AS ${featureSQL('hist')}`);
  res.read_seconds = t1 - t0;
  res.features_seconds = now() - t1;
  await con.run('DROP TABLE hist');
  await con.run('DROP TABLE feat_mem');
}
if (opt.out) await con.run(`COPY (SELECT * FROM feat ORDER BY customer_id) TO ${q(opt.out)} (HEADER, DELIMITER ',')`);
let bad = [];
if (opt.check) {
  await con.run(`CREATE TEMP TABLE go AS SELECT * FROM read_csv(${q(opt.check)}, header = true, all_varchar = true)`);
  const goCols = (await con.runAndReadAll(`SELECT column_name FROM (DESCRIBE go)`)).getRows().map((r) => r[0]);
  const ours = new Set((await con.runAndReadAll(`SELECT column_name FROM (DESCRIBE feat)`)).getRows().map((r) => r[0]));
  const [nGo, nBoth] = await one(`SELECT (SELECT count(*) FROM go), (SELECT count(*) FROM go JOIN feat USING (customer_id))`);
  if (Number(nGo) !== res.customers || Number(nBoth) !== res.customers) bad.push(`customer_id (go ${nGo}, duckdb ${res.customers}, both ${nBoth})`);
  for (const c of goCols) {
    if (c === 'customer_id') continue;
    if (!ours.has(c)) { bad.push(c + ' (missing)'); continue; }
    const id = `"${c}"`;
    const g = c.endsWith('_date') ? `date_diff('day', DATE '1970-01-01', nullif(go.${id}, '')::DATE)` : `nullif(go.${id}, '')::DOUBLE`;
    const o = c.endsWith('_date') ? `date_diff('day', DATE '1970-01-01', feat.${id})` : `feat.${id}::DOUBLE`;
    const [n] = await one(`SELECT count(*) FROM go JOIN feat USING (customer_id)
      WHERE NOT ((${g} IS NULL AND ${o} IS NULL) OR (isnan(${g}) AND isnan(${o}))
                 OR abs(${g} - ${o}) <= 1e-9 + 1e-9 * abs(${g}))`);
    if (Number(n) > 0) bad.push(`${c} (${n} rows)`);
  }
  res.check = bad.length === 0 ? `ok (${goCols.length - 1} columns)` : 'differs: ' + bad.join(', ');
}
res.peak_rss_mib = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify(res, null, 2));
if (bad.length > 0) process.exit(1);
