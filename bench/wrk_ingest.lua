-- wrk script of bench/ingest_wrk_bench.py: POSTs events, one per request or `batch` per request.
-- Arguments after `--`: run tag, mode (single|batch), known profiles, API key ("-" for none), batch size.
-- Every event carries an idempotency key unique to the run (tag-thread-counter), so no request
-- is a duplicate, and names one of the known profiles by email (the steady state of a store).
local threads = {}
local tag, mode, profiles, batch
local counter = 0
local names = { "viewed_product", "added_to_cart", "started_checkout" }

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

function init(args)
  tag, mode, profiles, batch = args[1], args[2], tonumber(args[3]), tonumber(args[5])
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if args[4] ~= "-" then
    wrk.headers["Authorization"] = "Bearer " .. args[4]
  end
end

local function event()
  counter = counter + 1
  return string.format(
    '{"name":"%s","profile":{"email":"shopper%d@example.com"},' ..
    '"properties":{"product_id":"%d","price":"24.90","currency":"USD"},"idempotency_key":"%s-%d-%d"}',
    names[counter % 3 + 1], (counter * 7 + thread_id) % profiles, 1000 + counter % 50, tag, thread_id, counter)
end

function request()
  local body
  if mode == "single" then
    body = event()
  else
    local items = {}
    for i = 1, batch do
      items[i] = event()
    end
    body = '{"events":[' .. table.concat(items, ",") .. "]}"
  end
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
