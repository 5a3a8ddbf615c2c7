-- wrk script: the put workload of `cloister bench --etcd` (bench/cluster/compare --wrk).
-- Every request is POST /v3/kv/put to etcd's JSON gateway with a new key and a 100-byte value
-- (VALUE_BYTES in the environment overrides), both base64 as the gateway requires. Prints
-- throughput and latency percentiles in milliseconds, and counts answers other than 200.
--   wrk -t2 -c64 -d10s -s bench/cluster/etcd_put.lua http://127.0.0.1:2379

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(data)
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = {}
    for j = 3, 0, -1 do
      local index = math.floor(n / 64 ^ j) % 64 + 1
      chars[#chars + 1] = alphabet:sub(index, index)
    end
    if not b then chars[3] = "=" end
    if not c then chars[4] = "=" end
    out[#out + 1] = table.concat(chars)
  end
  return table.concat(out)
end

local threads = {}
local counter = 0
local value_b64 = base64(string.rep("v", tonumber(os.getenv("VALUE_BYTES") or "100")))

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  errors = 0
  prefix = "wrk-" .. tostring(os.time()) .. "-" .. tostring(id) .. "-"
end

function request()
  counter = counter + 1
  local body = '{"key":"' .. base64(prefix .. counter) .. '","value":"' .. value_b64 .. '"}'
  return wrk.format("POST", "/v3/kv/put", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("errors") end
  io.write(string.format(
    "wrk put: %d requests in %.2f s = %.1f req/s; latency ms p50 %.2f p99 %.2f max %.2f; " ..
    "%d not 200, %d socket errors\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, failed,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
