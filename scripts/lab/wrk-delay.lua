-- wrk script: wait WRK_DELAY_MS (+-50%) between requests on each connection,
-- so the HTTP flood in committed captures stays bounded in size.
-- WRK_METHOD (GET, HEAD or POST; default GET) and WRK_BUST=1 (a random query
-- string on every request, as floods that defeat caches do) vary the requests
-- of the attack-httpflood capture; unset, every request is wrk's plain GET.
local d = tonumber(os.getenv("WRK_DELAY_MS") or "20")
local method = os.getenv("WRK_METHOD") or "GET"
local bust = os.getenv("WRK_BUST") == "1"
function delay()
  return math.random(math.floor(d / 2), math.floor(d * 3 / 2))
end
if method ~= "GET" or bust then
  local body = nil
  if method == "POST" then
    body = "q=" .. string.rep("a", math.random(8, 200))
  end
  function request()
    local path = wrk.path
    if bust then
      path = path .. "?" .. string.format("%x", math.random(0, 2147483647))
    end
    local headers = {}
    if body then headers["Content-Type"] = "application/x-www-form-urlencoded" end
    return wrk.format(method, path, headers, body)
  end
end
