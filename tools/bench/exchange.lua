-- wrk script for `make bench`, mode "exchange": complete authorization-code
-- exchanges, each three requests on one connection:
--
--   1. GET /oauth/authorize?client_id=..&response_type=code&redirect_uri=..
--          &scope=money_in&state=..          -> 200, consent page: request_id
--   2. POST /oauth/authorize request_id=..&org=..&decision=approve
--                                            -> 303, Location: ...?code=..
--   3. POST /oauth/token grant_type=authorization_code&code=..&redirect_uri=..
--          (client_secret_basic)             -> 200, tokens
--
-- The user is named by the X-Bench-User header (the bench's nginx sets
-- `imprest_user $http_x_bench_user`).  tools/bench.pl runs wrk with
-- -t N -c N: one connection per thread, so the state machine below (one per
-- thread) is per-connection.  wrk writes a connection's next request only
-- after the previous response, so request() and response() alternate;
-- only response() moves the state, so a request re-sent after a reconnect
-- repeats its step.  Anything but the expected answer (including a
-- non-2xx/3xx, or a 303 without a code) is an error and starts over at 1.
--
-- Environment (set by tools/bench.pl):
--   IMPREST_BENCH_CLIENT_ID     the registered app
--   IMPREST_BENCH_AUTH          the Authorization header ("Basic ...")
--   IMPREST_BENCH_REDIRECT_URI  its redirect URI, percent-encoded
--   IMPREST_BENCH_ORG           the organization to approve
--   IMPREST_BENCH_USER          the signed-in user
--
-- done() prints one line for tools/bench.pl (ok: completed exchanges, the
-- third step's 200s; wrk's own Requests/sec counts all three steps):
--   imprest-bench: ok=<exchanges> errors=<failed steps> duration_us=<n>

local client_id = os.getenv("IMPREST_BENCH_CLIENT_ID")
local auth = os.getenv("IMPREST_BENCH_AUTH")
local redirect_uri = os.getenv("IMPREST_BENCH_REDIRECT_URI")
local org = os.getenv("IMPREST_BENCH_ORG")
local user = os.getenv("IMPREST_BENCH_USER")

local authorize = "/oauth/authorize?client_id=" .. client_id
    .. "&response_type=code&redirect_uri=" .. redirect_uri
    .. "&scope=money_in&state="

-- main thread: number the threads, keep them for done()
local threads = {}

function setup(thread)
    threads[#threads + 1] = thread
    thread:set("id", #threads)
end

-- each thread (its own Lua state); counters are globals for thread:get()
ok, errors = 0, 0
local step, n, request_id, code = 1, 0, nil, nil

function request()
    if step == 1 then
        return wrk.format("GET", authorize .. id .. "-" .. n,
                          { ["X-Bench-User"] = user })
    elseif step == 2 then
        return wrk.format("POST", "/oauth/authorize", {
            ["X-Bench-User"] = user,
            ["Content-Type"] = "application/x-www-form-urlencoded" },
            "request_id=" .. request_id .. "&org=" .. org
            .. "&decision=approve")
    else
        return wrk.format("POST", "/oauth/token", {
            ["Authorization"] = auth,
            ["Content-Type"] = "application/x-www-form-urlencoded" },
            "grant_type=authorization_code&code=" .. code
            .. "&redirect_uri=" .. redirect_uri)
    end
end

function response(status, headers, body)
    if step == 1 then
        request_id = status == 200
            and body:match('name="request_id" value="([^"]+)"')
        if request_id then step = 2 return end
    elseif step == 2 then
        local location = status == 303
            and (headers["Location"] or headers["location"])
        code = location and location:match("[?&]code=([^&]+)")
        if code then step = 3 return end
    else
        if status == 200 and body:find('"access_token"', 1, true) then
            ok = ok + 1
            n = n + 1
            step = 1
            return
        end
    end
    errors = errors + 1
    n = n + 1
    step = 1
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
