-- wrk script for bench/purchases.py: POST /v1/purchases with a unique Idempotency-Key and receipt per request.
-- Arguments after `--`: terminal key, number of members, share of purchases that also redeem points, run tag, and
-- the mode: "mix" (that share redeems, the rest only earn), "redeem" (every purchase redeems points) or "wallet"
-- (every purchase pays part from the member's wallet) — bench/purchases.py's `purchase_body` builds the same.
-- Members are cards "99" .. 8 digits, 1..members, enrolled by bench/purchases.py with points to spend and money in
-- their wallets.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

function init(args)
  key = args[1]
  members = tonumber(args[2])
  redeem_share = tonumber(args[3])
  tag = args[4]
  mode = args[5] or "mix"
  math.randomseed(os.time() * 7919 + thread_no * 104729)
  prefix = string.format("%s-t%d-%06x", tag, thread_no, math.random(0, 0xffffff))
  counter = 0
  created = 0
  failed = 0
  codes = ""          -- "status:count,…" of non-201 answers
  first_error = ""    -- the first non-201 answer: status and body
  counts = {}
end

function request()
  counter = counter + 1
  local id = prefix .. "-" .. counter
  local card = string.format("99%08d", math.random(1, members))
  local body
  if mode == "wallet" then
    -- the same checks as a redemption's, 10.00-50.00 of each paid from the wallet (topped up during loading)
    body = string.format(
      '{"customer":"%s","amount":"%d.00","receipt":"%s","tenders":[{"kind":"wallet","amount":"%d.00"}]}',
      card, math.random(1500, 5000), id, math.random(10, 50))
  elseif mode == "redeem" or math.random() < redeem_share then
    -- checks from 1,500 may be paid with points: at most 15 % of the check in the lowest tier
    body = string.format('{"customer":"%s","amount":"%d.00","redeem_points":%d,"receipt":"%s"}',
      card, math.random(1500, 5000), math.random(10, 50), id)
  else
    body = string.format('{"customer":"%s","amount":"%d.%02d","receipt":"%s"}',
      card, math.random(100, 5000), math.random(0, 99), id)
  end
  return wrk.format("POST", "/v1/purchases", {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = id,
  }, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
    return
  end
  failed = failed + 1
  counts[status] = (counts[status] or 0) + 1
  local parts = {}
  for code, n in pairs(counts) do
    table.insert(parts, code .. ":" .. n)
  end
  codes = table.concat(parts, ",")
  if first_error == "" then
    first_error = status .. " " .. string.sub(string.gsub(body or "", "[\r\n]", " "), 1, 400)
  end
end

function done(summary, latency, requests)
  local ok, bad = 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("created")
    bad = bad + thread:get("failed")
    local c = thread:get("codes")
    if c ~= "" then
      io.write("BENCH codes ", c, "\n")
    end
    local e = thread:get("first_error")
    if e ~= "" then
      io.write("BENCH first_error ", e, "\n")
    end
  end
  local errors = summary.errors
  io.write(string.format("BENCH created %d\n", ok))
  io.write(string.format("BENCH failed %d\n", bad))
  io.write(string.format("BENCH requests %d\n", summary.requests))
  io.write(string.format("BENCH duration_us %d\n", summary.duration))
  io.write(string.format("BENCH socket_errors %d %d %d %d %d\n",
    errors.connect, errors.read, errors.write, errors.timeout, errors.status))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("BENCH latency_us p%s %d\n", p, latency:percentile(p)))
  end
  io.write(string.format("BENCH latency_us mean %d\n", latency.mean))
  io.write(string.format("BENCH latency_us max %d\n", latency.max))
end
