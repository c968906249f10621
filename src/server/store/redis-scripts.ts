/**
 * The Lua scripts of the Redis store. Each one touches the keys of one uid or one channel only
 * (they share a hash tag, so a cluster keeps them on one slot), and decides everything that spans
 * those keys in one step: Redis runs a script to completion before any other command.
 *
 * History entries are stream entries with the id `<seq>-1` and three fields: `t` (timestamp, ms),
 * `f` (sender) and `j` (the rest of the message as JSON). A script that answers with messages
 * returns them flat, three items each: seq, timestamp, JSON.
 *
 * `now` arguments: an empty string means "ask Redis" (`TIME`), so that no node's clock decides
 * an age window; a number is the caller's time (the contract suite drives time by hand).
 */

const HELPERS = `
local function clock(given)
  if given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end

local function seqOf(id)
  return tonumber(string.match(id, '^(%d+)'))
end

-- An inbox entry leaves: its bytes and count come off the inbox's usage, and off its sender's
-- offline allowance when it was appended under one (usage: KEYS; offline key: ARGV-built).
local function release(usage, offPre, offPost, fields)
  local bytes = tonumber(field(fields, 'b') or '0')
  local from = field(fields, 'f')
  redis.call('HINCRBY', usage, 'bytes', -bytes)
  redis.call('HINCRBY', usage, 'n:' .. from, -1)
  redis.call('HINCRBY', usage, 'b:' .. from, -bytes)
  if field(fields, 'o') == '1' then redis.call('DECRBY', offPre .. from .. offPost, bytes) end
end

-- Removes the leading entries stamped before cutoff; appends each to out (when given), hands each
-- to onRemove (when given) and returns how many went.
local function dropOlder(key, cutoff, out, onRemove)
  local start = '-'
  local lastSeq = nil
  local count = 0
  while true do
    local batch = redis.call('XRANGE', key, start, '+', 'COUNT', 64)
    local stop = false
    for _, entry in ipairs(batch) do
      local ts = field(entry[2], 't')
      if tonumber(ts) >= cutoff then
        stop = true
        break
      end
      lastSeq = seqOf(entry[1])
      count = count + 1
      if onRemove then onRemove(entry[2]) end
      if out then
        out[#out + 1] = tostring(lastSeq)
        out[#out + 1] = ts
        out[#out + 1] = field(entry[2], 'j')
      end
    end
    if stop or #batch < 64 then break end
    start = '(' .. batch[#batch][1]
  end
  if lastSeq then redis.call('XTRIM', key, 'MINID', tostring(lastSeq + 1)) end
  return count
end
`;

export interface ScriptSource {
  readonly name: string;
  readonly keys: number;
  readonly body: string;
}

function script(name: string, keys: number, body: string): ScriptSource {
  return { name, keys, body: HELPERS + body };
}

/** KEYS: epoch. ARGV: a fresh random epoch. The first node to ask sets it; all read the same. */
export const EPOCH = script(
  'epoch',
  1,
  `
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
`,
);

/**
 * KEYS: session, generation. ARGV: sessionId, startedAt, node ('' = none).
 * Replaces the uid's session in one step and bumps its generation, which outlives the session.
 * Answers: generation, then the replaced session's id, start and node ('' when there was none).
 */
export const SESSION_PUT = script(
  'session_put',
  2,
  `
local old = redis.call('HMGET', KEYS[1], 'id', 'start', 'node')
local gen = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'start', ARGV[2], 'gen', gen)
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'node', ARGV[3]) end
return {tostring(gen), old[1] or '', old[2] or '', old[3] or ''}
`,
);

/**
 * KEYS: session, generation. ARGV: sessionId, node.
 * A node takes over the live session (a resume elsewhere): bumps the generation and records the
 * node, so every later end by the node that held it is refused. Answers '' when sessionId is not
 * the live session, else { generation, previous node ('' for none) }.
 */
export const SESSION_CLAIM = script(
  'session_claim',
  2,
  `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return '' end
local previous = redis.call('HGET', KEYS[1], 'node') or ''
local gen = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'gen', gen, 'node', ARGV[2])
redis.call('HDEL', KEYS[1], 'away')
return {tostring(gen), previous}
`,
);

/**
 * KEYS: session. ARGV: sessionId, generation, '1' (away: the window starts now, Redis time) or '0' (back).
 * Answers 1, or 0 when the session is not that one at that generation (a stale owner).
 */
export const SESSION_AWAY = script(
  'session_away',
  1,
  `
local live = redis.call('HMGET', KEYS[1], 'id', 'gen')
if live[1] ~= ARGV[1] or live[2] ~= ARGV[2] then return 0 end
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'away', clock('')) else redis.call('HDEL', KEYS[1], 'away') end
return 1
`,
);

/**
 * KEYS: the node index. ARGV: node. Records when the node was last alive, by Redis's clock.
 */
export const NODE_SEEN = script(
  'node_seen',
  1,
  `
redis.call('HSET', KEYS[1], ARGV[1], clock(''))
return 1
`,
);

/**
 * KEYS: the sweeper lease. ARGV: node, TTL ms. The node holds (or takes, when free) the lease;
 * answers 1 when it holds it now.
 */
export const SWEEPER_LEASE = script(
  'sweeper_lease',
  1,
  `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`,
);

/**
 * KEYS: session, ended. ARGV: sessionId, generation ('' = any), ended JSON, ended TTL (ms).
 * Ends the live session if it is still sessionId at that generation (answers 1: the caller
 * carries out the rest). A stale generation (another node claimed it) changes nothing (answers
 * 0). Another live session or none: the reason is remembered (answers 0).
 */
export const SESSION_END = script(
  'session_end',
  2,
  `
local live = redis.call('HMGET', KEYS[1], 'id', 'gen')
local removed = 0
if live[1] == ARGV[1] then
  if ARGV[2] ~= '' and live[2] ~= ARGV[2] then return 0 end
  redis.call('DEL', KEYS[1])
  removed = 1
end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return removed
`,
);

/**
 * KEYS: inbox, seq, dropped, usage, session, dedup claim. ARGV: now, maxMessages, maxAgeMs, from,
 * json, bytes, maxBytes, maxMessagesPerSender, maxBytesPerSender, offlineMaxBytesPerSender
 * ('' = none), offline key prefix, offline key suffix, node channel prefix, suffix ('' = publish
 * nothing), dedup TTL ms ('' = no de-duplication).
 * An append whose dedup claim exists stores nothing and answers what the first one did
 * (`<seq>:<ts>:<refusal>` in the claim), flagged duplicate.
 * A stored message is published (`p<seq>\n<ts>\n<json>`) to the node the recipient's session
 * names, in the same step: that node hears its users' messages in seq order.
 * Drops what aged out, refuses when still full (count or bytes), when the sender holds its share
 * of this inbox, or when it holds its offline allowance over all inboxes; else stamps the next
 * seq and appends. Answers: stored seq (0 = refused), timestamp, refusal ('' when stored), then
 * the expired messages. The sender's offline counter lives on the sender's slot: one Redis, or a
 * cluster that keeps it with the inbox, runs this script (the node bus step revisits it).
 */
export const INBOX_APPEND = script(
  'inbox_append',
  6,
  `
if ARGV[15] ~= '' then
  local earlier = redis.call('GET', KEYS[6])
  if earlier then
    local seq, ts, refusal = string.match(earlier, '^(%d+):(%d+):(.*)$')
    return {seq, ts, refusal, '1'}
  end
end
local now = clock(ARGV[1])
local usage = KEYS[4]
local offPre, offPost = ARGV[11], ARGV[12]
local out = {}
local expired = dropOlder(KEYS[1], now - tonumber(ARGV[3]), out, function(fields) release(usage, offPre, offPost, fields) end)
if expired > 0 then redis.call('INCRBY', KEYS[3], expired) end
local from = ARGV[4]
local bytes = tonumber(ARGV[6])
local function limit(value) if value == '' then return math.huge end return tonumber(value) end
local held = tonumber(redis.call('HGET', usage, 'bytes') or '0')
local mineCount = tonumber(redis.call('HGET', usage, 'n:' .. from) or '0')
local mineBytes = tonumber(redis.call('HGET', usage, 'b:' .. from) or '0')
local offKey = offPre .. from .. offPost
local offline = ARGV[10] ~= ''
local refusal = ''
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[2]) or held + bytes > limit(ARGV[7]) then
  refusal = 'INBOX_FULL'
elseif mineCount >= limit(ARGV[8]) or mineBytes + bytes > limit(ARGV[9]) then
  refusal = 'SENDER_SHARE'
elseif offline and tonumber(redis.call('GET', offKey) or '0') + bytes > limit(ARGV[10]) then
  refusal = 'OFFLINE_ALLOWANCE'
end
local result = {}
if refusal ~= '' then
  redis.call('INCR', KEYS[3])
  result[1] = '0'
else
  local seq = redis.call('INCR', KEYS[2])
  redis.call('XADD', KEYS[1], tostring(seq) .. '-1', 't', tostring(now), 'f', from, 'j', ARGV[5], 'b', tostring(bytes), 'o', offline and '1' or '0')
  redis.call('HINCRBY', usage, 'bytes', bytes)
  redis.call('HINCRBY', usage, 'n:' .. from, 1)
  redis.call('HINCRBY', usage, 'b:' .. from, bytes)
  if offline then redis.call('INCRBY', offKey, bytes) end
  result[1] = tostring(seq)
  local node = redis.call('HGET', KEYS[5], 'node')
  if node and ARGV[14] ~= '' then redis.call('PUBLISH', ARGV[13] .. node .. ARGV[14], 'p' .. seq .. '\\n' .. now .. '\\n' .. ARGV[5]) end
end
result[2] = tostring(now)
result[3] = refusal
result[4] = '0'
if ARGV[15] ~= '' then redis.call('SET', KEYS[6], result[1] .. ':' .. result[2] .. ':' .. refusal, 'PX', ARGV[15]) end
for i = 1, #out do result[#result + 1] = out[i] end
return result
`,
);

/** KEYS: inbox, dropped, usage. ARGV: now, maxAgeMs, offline key prefix, suffix. Answers the expired messages. */
export const INBOX_EXPIRE = script(
  'inbox_expire',
  3,
  `
local now = clock(ARGV[1])
local out = {}
local expired = dropOlder(KEYS[1], now - tonumber(ARGV[2]), out, function(fields) release(KEYS[3], ARGV[3], ARGV[4], fields) end)
if expired > 0 then redis.call('INCRBY', KEYS[2], expired) end
return out
`,
);

/**
 * KEYS: inbox, usage. ARGV: upToSeq ('' = everything), offline key prefix, suffix.
 * Removes the entries up to the seq (an ack) or all of them (a clear), releasing what they held.
 */
export const INBOX_REMOVE = script(
  'inbox_remove',
  2,
  `
local last = nil
local stop = '+'
if ARGV[1] ~= '' then stop = ARGV[1] .. '-1' end
local start = '-'
while true do
  local batch = redis.call('XRANGE', KEYS[1], start, stop, 'COUNT', 128)
  for _, entry in ipairs(batch) do
    release(KEYS[2], ARGV[2], ARGV[3], entry[2])
    last = entry[1]
  end
  if #batch < 128 then break end
  start = '(' .. batch[#batch][1]
end
if last then redis.call('XTRIM', KEYS[1], 'MINID', tostring(seqOf(last) + 1)) end
return 0
`,
);

/**
 * KEYS: history, seq, maxAge, dedup claim. ARGV: now, maxMessages, maxAgeMs, from, json, publish
 * command ('' = none, else PUBLISH or SPUBLISH), live channel, dedup TTL ms ('' = none).
 * An append whose dedup claim exists stores and publishes nothing and answers the first one's
 * seq and timestamp, flagged duplicate.
 * Stamps the next seq, appends, trims by age and count, keeps the age bound for the sweep, and
 * publishes the message to the channel's live feed (`c<seq>\n<ts>\n<json>`) in the same step, so
 * every node hears the channel's messages in seq order and none is stored without being sent.
 * Answers: seq, timestamp.
 */
export const CHANNEL_APPEND = script(
  'channel_append',
  4,
  `
if ARGV[8] ~= '' then
  local earlier = redis.call('GET', KEYS[4])
  if earlier then
    local seq, ts = string.match(earlier, '^(%d+):(%d+)$')
    return {seq, ts, '1'}
  end
end
local now = clock(ARGV[1])
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], tostring(seq) .. '-1', 't', tostring(now), 'f', ARGV[4], 'j', ARGV[5])
dropOlder(KEYS[1], now - tonumber(ARGV[3]), nil)
redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[2])
redis.call('SET', KEYS[3], ARGV[3])
if ARGV[6] ~= '' then redis.call(ARGV[6], ARGV[7], 'c' .. seq .. '\\n' .. now .. '\\n' .. ARGV[5]) end
if ARGV[8] ~= '' then redis.call('SET', KEYS[4], seq .. ':' .. now, 'PX', ARGV[8]) end
return {tostring(seq), tostring(now), '0'}
`,
);

/** KEYS: history, maxAge. ARGV: now. Trims a quiet channel by the age bound of its last append. */
export const CHANNEL_TRIM = script(
  'channel_trim',
  2,
  `
local maxAge = redis.call('GET', KEYS[2])
if not maxAge then return 0 end
return dropOlder(KEYS[1], clock(ARGV[1]) - tonumber(maxAge), nil)
`,
);

/**
 * KEYS: history, seq. ARGV: first id after the position ("<afterSeq+1>-0"), afterSeq, sinceTs,
 * has-exclude ('1'/'0'), excludeFrom, max.
 * The most recent `max` messages after the position and within the window, leaving out the
 * excluded sender's; and what the bounds left out (the in-memory store's reading, R11.1).
 * Answers: skipped, truncatedBy ('' for none), then the messages newest first.
 */
export const CHANNEL_HISTORY = script(
  'channel_history',
  2,
  `
local after = tonumber(ARGV[2])
local since = tonumber(ARGV[3])
local hasExclude = ARGV[4] == '1'
local exclude = ARGV[5]
local max = tonumber(ARGV[6])
local entries = redis.call('XREVRANGE', KEYS[1], '+', ARGV[1])
local picked = {}
local taken = 0
local i = 1
while i <= #entries and taken < max do
  local fields = entries[i][2]
  local ts = field(fields, 't')
  if tonumber(ts) < since then break end
  if not (hasExclude and field(fields, 'f') == exclude) then
    picked[#picked + 1] = tostring(seqOf(entries[i][1]))
    picked[#picked + 1] = ts
    picked[#picked + 1] = field(fields, 'j')
    taken = taken + 1
  end
  i = i + 1
end
local beyondCap, beyondWindow = 0, 0
for j = i, #entries do
  local fields = entries[j][2]
  if not (hasExclude and field(fields, 'f') == exclude) then
    if tonumber(field(fields, 't')) < since then beyondWindow = beyondWindow + 1 else beyondCap = beyondCap + 1 end
  end
end
local oldest
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if #first > 0 then oldest = seqOf(first[1][1]) else oldest = (tonumber(redis.call('GET', KEYS[2])) or 0) + 1 end
local trimmed = math.max(0, oldest - after - 1)
local skipped = beyondCap + beyondWindow + trimmed
local truncatedBy = ''
if skipped > 0 then
  if beyondCap > 0 then truncatedBy = 'REPLAY_CAP' else truncatedBy = 'REPLAY_WINDOW' end
end
local result = {tostring(skipped), truncatedBy}
for k = 1, #picked do result[#result + 1] = picked[k] end
return result
`,
);

/**
 * KEYS: attributes. ARGV: JSON { set: [[k, v]…], remove: [k…] }, maxAttributes.
 * The user's attributes are one JSON list of pairs; removes, then adds or replaces, unless more
 * than the bound would remain. Answers 1 (done) or 0 (nothing changed).
 */
export const ATTRIBUTES_UPDATE = script(
  'attributes_update',
  1,
  `
local change = cjson.decode(ARGV[1])
local raw = redis.call('GET', KEYS[1])
local current = {}
if raw then current = cjson.decode(raw) end
local removed = {}
for _, key in ipairs(change.remove) do removed[key] = true end
local nextList, index = {}, {}
for _, pair in ipairs(current) do
  if not removed[pair[1]] then
    nextList[#nextList + 1] = pair
    index[pair[1]] = #nextList
  end
end
for _, pair in ipairs(change.set) do
  local at = index[pair[1]]
  if at then nextList[at] = pair else
    nextList[#nextList + 1] = pair
    index[pair[1]] = #nextList
  end
end
if #nextList > tonumber(ARGV[2]) then return 0 end
if #nextList == 0 then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], cjson.encode(nextList)) end
return 1
`,
);

/**
 * KEYS: attributes, members. ARGV: JSON { clear, remove, set, by, ts }, maxAttributes, emptyTtlMs.
 * A channel's attributes are one JSON list of { key, value, by, ts }, oldest key first. Clears,
 * removes, then sets, unless more than the bound would remain; a channel without members keeps
 * them `emptyTtlMs` after this change. Answers the list as JSON, or '' when refused.
 */
export const CHANNEL_ATTRIBUTES_CHANGE = script(
  'channel_attributes_change',
  2,
  `
local change = cjson.decode(ARGV[1])
local current = {}
if not change.clear then
  local raw = redis.call('GET', KEYS[1])
  if raw then current = cjson.decode(raw) end
end
local removed = {}
for _, key in ipairs(change.remove) do removed[key] = true end
local nextList, index = {}, {}
for _, attribute in ipairs(current) do
  if not removed[attribute.key] then
    nextList[#nextList + 1] = attribute
    index[attribute.key] = #nextList
  end
end
for _, pair in ipairs(change.set) do
  local attribute = { key = pair[1], value = pair[2], by = change.by, ts = change.ts }
  local at = index[pair[1]]
  if at then nextList[at] = attribute else
    nextList[#nextList + 1] = attribute
    index[pair[1]] = #nextList
  end
end
if #nextList > tonumber(ARGV[2]) then return '' end
if #nextList == 0 then
  redis.call('DEL', KEYS[1])
  return '[]'
end
local encoded = cjson.encode(nextList)
redis.call('SET', KEYS[1], encoded)
if redis.call('SCARD', KEYS[2]) == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return encoded
`,
);

/** KEYS: members, attributes. ARGV: uid. Joins; a channel with members keeps its attributes. Answers 1 if added. */
export const CHANNEL_JOIN = script(
  'channel_join',
  2,
  `
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PERSIST', KEYS[2])
return added
`,
);

/**
 * KEYS: members, attributes. ARGV: uid, emptyTtlMs. Leaves; the last member out starts the
 * clock on the channel's attributes (as Agora RTM drops them a while after). Answers 1 if removed.
 */
export const CHANNEL_LEAVE = script(
  'channel_leave',
  2,
  `
local removed = redis.call('SREM', KEYS[1], ARGV[1])
if removed == 1 and redis.call('SCARD', KEYS[1]) == 0 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return removed
`,
);
