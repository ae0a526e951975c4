-- wrk script: wait WRK_DELAY_MS (+-50%) between requests on each connection,
-- so the HTTP flood in committed captures stays bounded in size.
local d = tonumber(os.getenv("WRK_DELAY_MS") or "20")
function delay()
  return math.random(math.floor(d / 2), math.floor(d * 3 / 2))
end
