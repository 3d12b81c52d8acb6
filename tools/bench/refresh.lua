-- wrk script for `make bench`, mode "refresh": refresh_token grants on
-- POST /oauth/token with client_secret_basic.
--
-- Refresh tokens rotate: each one is usable once, and presenting a used one
-- revokes its whole grant.  So every connection follows its own chain, and
-- tools/bench.pl runs wrk with -t N -c N: one connection per thread, which
-- makes the per-thread state below per-connection.  response() takes the
-- new refresh_token from the JSON body; request() sends the current one.
-- (wrk writes a connection's next request only after the previous
-- response, so request() and response() alternate.)
--
-- Environment (set by tools/bench.pl):
--   IMPREST_BENCH_SEEDS  file, one line per thread: refresh tokens from
--                        code exchanges done beforehand, space-separated;
--                        the first starts the chain, the others are spares
--                        taken when a refresh fails (a lost response would
--                        otherwise leave the thread with a used token)
--   IMPREST_BENCH_AUTH   the Authorization header ("Basic ...")
--
-- done() prints one line for tools/bench.pl:
--   imprest-bench: ok=<grants> errors=<failed refreshes> duration_us=<n>

local seeds_file = os.getenv("IMPREST_BENCH_SEEDS")
local auth = os.getenv("IMPREST_BENCH_AUTH")

-- main thread: hand each thread its own seed line, keep the threads
local lines, threads = nil, {}

function setup(thread)
    if not lines then
        lines = {}
        for l in io.lines(seeds_file) do lines[#lines + 1] = l end
    end
    local i = #threads + 1
    if not lines[i] then
        error("refresh.lua: " .. seeds_file .. " has no line for thread " .. i)
    end
    thread:set("seed", lines[i])
    threads[i] = thread
end

-- each thread (its own Lua state); counters are globals for thread:get()
ok, errors = 0, 0
local chain, current

function init(args)
    chain = {}
    for t in string.gmatch(seed, "%S+") do chain[#chain + 1] = t end
    current = 1
end

function request()
    return wrk.format("POST", "/oauth/token", {
        ["Authorization"] = auth,
        ["Content-Type"] = "application/x-www-form-urlencoded" },
        "grant_type=refresh_token&refresh_token=" .. chain[current])
end

function response(status, headers, body)
    local rt = status == 200 and body:match('"refresh_token":"([^"]+)"')
    if rt then
        chain[current] = rt
        ok = ok + 1
        return
    end
    errors = errors + 1
    -- this chain is used up or revoked: go on with a spare, if any left
    if current < #chain then current = current + 1 end
end

function done(summary, latency, requests)
    local o, e = 0, 0
    for _, t in ipairs(threads) do
        o = o + t:get("ok")
        e = e + t:get("errors")
    end
    io.write(string.format("imprest-bench: ok=%d errors=%d duration_us=%d\n",
                           o, e, summary.duration))
end
