#!lua name=ferrymq_1
-- The state changes of a broker shared through Redis, each one atomic on the
-- server and timed by the server's clock. They restate the core's queue
-- rules (src/core/broker/mod.rs: admit, enqueue, fail_delivery, dead_letter,
-- make_room, next_due, catch_up) over Redis keys: a change to those rules
-- is made here too, and tests/redis checks them against a real server.
--
-- Redis keeps the writes a function made before an error, so every function
-- checks its arguments before it changes anything the caller asked for (the
-- only writes before are the clock's high-water mark and catching up with it).
--
-- P:clock, the tests' clock, is honoured whenever it exists: whoever may
-- write a broker's keys may change its state anyway.
--
-- Every function takes KEYS[1] = '{<prefix>}:meta' and builds its other keys
-- from that prefix: all of a broker's keys share the hash tag, so a Redis
-- Cluster keeps them on one node.
--
-- Keys, P = '{<prefix>}':
--   P:meta            HASH  schema
--   P:clock           STRING  tests only: the time (ms) in place of TIME
--   P:now             STRING  the latest time a function ran at: the clock never goes back
--   P:seq, P:tag, P:qseq, P:lset  counters: message seq (= generated id), delivery tag,
--                           queue id, lease deadlines set
--   P:queues, P:qnames      HASH  name -> qid, qid -> name
--   P:due             ZSET  qid -> its next deadline: when some process should tick it.
--                           Never late, but may be early: only changes that can bring a
--                           deadline forward (placing, leasing) file it again; a tick that
--                           finds nothing due files the real one.
--   P:q:<qid>:cfg     HASH  options (see declare) and explicit 0/1
--   P:q:<qid>:st      HASH  counters: sent acked nacked expired redelivered deadLettered
--   P:q:<qid>:lat     HASH  send-to-ack latency: the core's histogram bucket -> count
--   P:q:<qid>:tp      HASH  acks per second, a ring of 10: slot -> 'second:count'
--   P:q:<qid>:r<pri>  ZSET  waiting messages of priority pri (0..9), by ready time then seq
--   P:q:<qid>:w       ZSET  waiting messages by seq: their count (maxLength) and the oldest
--   P:q:<qid>:x       ZSET  waiting messages with a TTL, by expiry
--   P:q:<qid>:l       ZSET  in-flight messages, by lease deadline
--   P:q:<qid>:d       ZSET  caller ids inside the dedup window, by window end
--   P:q:<qid>:wake    LIST  at most one marker while the queue has due messages:
--                           what blocked consumers wait on (BLPOP), no polling
--   P:m:<seq>         HASH  q id pri enq rdy exp dlv tag body, lset (when its lease
--                           deadline was set: ties run in that order), and for a request
--                           rq (the requester's inbox) and rid (its request id)
--   P:events          STREAM  redelivered, expired and dead-letter events
--   P:deadline        CHANNEL a deadline earlier than every other was set (ms): look at due() again
--   P:bindings        HASH  '<qid>:<pattern>' -> 1, the topic bindings
--   P:bver            STRING  bumped on every change of the bindings
--   P:inbox:<proc>    LIST  replies to the requests of one process: rid, body

local SCHEMA = '1'
local LEVELS = 10

-- Per call: the queues caught up with the clock, and those whose next
-- deadline may have moved earlier. Reset as each function starts.
local caught, touched = {}, {}

-- Integers as Redis stores them: never in exponent form.
local function int(n)
  return string.format('%.0f', n)
end

-- Members of a lane are seqs padded to one width, so that equal ready
-- times order by seq.
local function member(seq)
  return string.format('%016.0f', seq)
end

local function qkey(P, q, suffix)
  return P .. ':q:' .. q .. ':' .. suffix
end

local function mkey(P, seq)
  return P .. ':m:' .. int(seq)
end

-- A name as the core's messages show it (Rust's {:?}), for ordinary names.
local function quoted(s)
  return '"' .. string.gsub(string.gsub(s, '[\\"]', '\\%0'), '\n', '\\n') .. '"'
end

local function bad(what)
  return redis.error_reply('INVALID_ARGUMENT ' .. what)
end

-- `v` as a whole number of at least `min`, or nil.
local function whole(v, min)
  local n = tonumber(v)
  if n and n % 1 == 0 and n >= min and n < 2 ^ 53 then return n end
  return nil
end

local function now(P)
  local t
  local fake = redis.call('GET', P .. ':clock')
  if fake then
    t = tonumber(fake)
  else
    local time = redis.call('TIME')
    t = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  end
  -- The core's clock never goes back; a server's can (an NTP step, a
  -- failover to a replica): leases must not grow, due messages not wait.
  local seen = tonumber(redis.call('GET', P .. ':now'))
  if seen and seen >= t then return seen end
  redis.call('SET', P .. ':now', int(t))
  return t
end

-- The options of queue q (the core's defaults for what is not set), or nil
-- for an unknown queue.
local function cfg(P, q)
  local c = redis.call('HMGET', qkey(P, q, 'cfg'), 'name', 'maxLength', 'overflow', 'ttl', 'lease', 'maxDeliveries', 'deadLetter', 'dedup')
  if not c[1] then return nil end
  return {
    name = c[1], maxLength = tonumber(c[2]), overflow = c[3] or 'reject', ttl = tonumber(c[4]),
    lease = tonumber(c[5]) or 30000, maxDeliveries = tonumber(c[6]) or 10, deadLetter = c[7] or '',
    dedup = tonumber(c[8]),
  }
end

local function count(P, q, field)
  redis.call('HINCRBY', qkey(P, q, 'st'), field, 1)
end

-- An event for 'on' listeners in every process: type, queue name, message
-- id, then the type's own fields.
local function event(P, kind, q, seq, ...)
  local id = redis.call('HGET', mkey(P, seq), 'id')
  local name = redis.call('HGET', P .. ':qnames', q)
  redis.call('XADD', P .. ':events', 'MAXLEN', '~', 10000, '*', 'type', kind, 'queue', name, 'id', id or int(seq), ...)
end

-- Wakes a consumer blocked on queue q: one marker, kept until taken, so a
-- send between a consumer's empty claim and its BLPOP is not missed.
local function wake(P, q)
  local key = qkey(P, q, 'wake')
  if redis.call('LLEN', key) == 0 then redis.call('RPUSH', key, '1') end
end

local function waiting(P, q)
  return redis.call('ZCARD', qkey(P, q, 'w'))
end

local function is_full(P, q, c, extra)
  return c.maxLength ~= nil and waiting(P, q) + extra >= c.maxLength
end

-- Puts message seq of queue q where it waits: its lane by ready time, the
-- seq order, the expiry order.
local function place(P, q, seq, m, now)
  local s = member(seq)
  redis.call('ZADD', qkey(P, q, 'r' .. m.pri), int(m.rdy), s)
  redis.call('ZADD', qkey(P, q, 'w'), seq, s)
  if m.exp then redis.call('ZADD', qkey(P, q, 'x'), int(m.exp), s) end
  if m.rdy <= now then wake(P, q) end
  touched[q] = true
end

local function unplace(P, q, seq, pri)
  local s = member(seq)
  redis.call('ZREM', qkey(P, q, 'r' .. pri), s)
  redis.call('ZREM', qkey(P, q, 'w'), s)
  redis.call('ZREM', qkey(P, q, 'x'), s)
end

-- The seq of queue q's earliest sent waiting message, or nil.
local function oldest_waiting(P, q)
  local oldest = redis.call('ZRANGE', qkey(P, q, 'w'), 0, 0)[1]
  return oldest and tonumber(oldest)
end

-- Message seq of queue q is no longer in flight.
local function end_lease(P, q, seq)
  redis.call('ZREM', qkey(P, q, 'l'), member(seq))
  redis.call('HDEL', mkey(P, seq), 'tag')
end

local function message(P, seq)
  local f = redis.call('HMGET', mkey(P, seq), 'q', 'pri', 'rdy', 'exp', 'dlv')
  if not f[1] then return nil end
  return { q = f[1], pri = f[2], rdy = tonumber(f[3]), exp = tonumber(f[4]), dlv = tonumber(f[5]) }
end

local function queue_id(P, name)
  return redis.call('HGET', P .. ':queues', name)
end

local function create_queue(P, name, fields, explicit)
  local q = int(redis.call('INCR', P .. ':qseq'))
  redis.call('HSET', P .. ':queues', name, q)
  redis.call('HSET', P .. ':qnames', q, name)
  redis.call('HSET', qkey(P, q, 'cfg'), 'name', name, 'explicit', explicit, unpack(fields))
  return q
end

-- What an implicit dead-letter queue gets: no further dead-lettering, so a
-- chain of queues can never loop (QueueOptions::implicit_dead_letter_queue).
local IMPLICIT = { 'canon', '', 'deadLetter', '-' }

-- The queue dead letters from q go to, created if missing; nil to discard.
local function dead_letter_target(P, c)
  if c.deadLetter == '-' then return nil end
  local name = c.deadLetter
  if name == '' then name = c.name .. '.dlq' end
  if name == c.name then return nil end
  return queue_id(P, name) or create_queue(P, name, IMPLICIT, '0')
end

local catch_up, remove_message

-- Whether a dead-lettered message may enter t, caught up with the clock
-- first (its own expired messages leave before it counts as full): a full
-- target that drops its oldest makes room; one that rejects refuses. Never
-- cascades.
local function make_room(P, t, now)
  if not caught[t] then catch_up(P, t, now) end
  local c = cfg(P, t)
  if not is_full(P, t, c, 0) then return true end
  if c.overflow ~= 'drop-oldest' then return false end
  local oldest = oldest_waiting(P, t)
  if not oldest then return false end
  remove_message(P, oldest, 'maxlen', false, nil, now)
  return true
end

-- Takes message seq out of its queue, counted as dead-lettered for
-- `reason`; it moves to queue `target` (as a fresh message there, no longer
-- a request), or is gone.
remove_message = function(P, seq, reason, nacked, target, now)
  local m = message(P, seq)
  if not m then return end
  unplace(P, m.q, seq, m.pri)
  redis.call('ZREM', qkey(P, m.q, 'l'), member(seq))
  count(P, m.q, 'deadLettered')
  if reason == 'expired' then
    count(P, m.q, 'expired')
    event(P, 'expired', m.q, seq)
  end
  if nacked then count(P, m.q, 'nacked') end
  local to = target and redis.call('HGET', P .. ':qnames', target) or ''
  event(P, 'dead-letter', m.q, seq, 'reason', reason, 'deadLetterQueue', to)
  if not target then
    redis.call('DEL', mkey(P, seq))
    return
  end
  local ttl = cfg(P, target).ttl
  local moved = { q = target, pri = m.pri, rdy = now, exp = ttl and now + ttl or nil }
  redis.call('HSET', mkey(P, seq), 'q', target, 'rdy', int(now), 'dlv', '0')
  redis.call('HDEL', mkey(P, seq), 'tag', 'exp', 'rq', 'rid')
  if moved.exp then redis.call('HSET', mkey(P, seq), 'exp', int(moved.exp)) end
  place(P, target, seq, moved, now)
  count(P, target, 'sent')
end

local function dead_letter(P, seq, reason, nacked, now)
  local m = message(P, seq)
  if not m then return end
  local target = dead_letter_target(P, cfg(P, m.q))
  if target and not make_room(P, target, now) then target = nil end
  remove_message(P, seq, reason, nacked, target, now)
end

-- A delivery failed (lease ran out, nack, consumer gone) at `now`: the
-- message goes back, after `wait` ms, unless it used up its deliveries or
-- expired meanwhile.
local function fail_delivery(P, seq, nacked, wait, now)
  local m = message(P, seq)
  if not m then return end
  local c = cfg(P, m.q)
  end_lease(P, m.q, seq)
  if m.dlv >= c.maxDeliveries then return dead_letter(P, seq, 'delivery-limit', nacked, now) end
  if m.exp and m.exp <= now then return dead_letter(P, seq, 'expired', nacked, now) end
  -- Without a wait the message keeps its old ready time, hence its old place.
  if wait > 0 then
    m.rdy = now + wait
    redis.call('HSET', mkey(P, seq), 'rdy', int(m.rdy))
  end
  place(P, m.q, seq, m, now)
  count(P, m.q, 'redelivered')
  if nacked then count(P, m.q, 'nacked') end
  event(P, 'redelivered', m.q, seq, 'deliveryCount', m.dlv)
end

-- Processes queue q's deadlines up to `now` in time order, each at its own
-- time, as the core's catch_up does: a lease that ran out returns its
-- message (a counted failure), a waiting message past its TTL is
-- dead-lettered. Each entry leaves its index first, so none is seen twice.
-- Of the leases that end at the same time, the one whose deadline was set
-- first: the core's timers run ties in the order they were scheduled.
local function first_set(P, members)
  local first, order
  for _, s in ipairs(members) do
    local set = tonumber(redis.call('HGET', mkey(P, tonumber(s)), 'lset')) or 0
    if not order or set < order then first, order = tonumber(s), set end
  end
  return first
end

-- A lease of message seq in queue q now ends at `at`.
local function lease_until(P, q, seq, at)
  redis.call('ZADD', qkey(P, q, 'l'), int(at), member(seq))
  redis.call('HSET', mkey(P, seq), 'lset', redis.call('INCR', P .. ':lset'))
  touched[q] = true
end

catch_up = function(P, q, now)
  caught[q] = true
  local l, x = qkey(P, q, 'l'), qkey(P, q, 'x')
  while true do
    local lease, expiry = redis.call('ZRANGE', l, 0, 0, 'WITHSCORES'), redis.call('ZRANGE', x, 0, 0, 'WITHSCORES')
    local at_l, at_x = tonumber(lease[2]), tonumber(expiry[2])
    if at_l and at_l <= now and (not at_x or at_l <= at_x) then
      local seq = first_set(P, redis.call('ZRANGE', l, at_l, at_l, 'BYSCORE'))
      redis.call('ZREM', l, member(seq))
      fail_delivery(P, seq, false, 0, at_l)
    elseif at_x and at_x <= now then
      redis.call('ZREM', x, expiry[1])
      dead_letter(P, tonumber(expiry[1]), 'expired', false, at_x)
    else
      break
    end
  end
end

-- The message to deliver next: the head of the highest priority lane whose
-- head is due, looking from lane `top` down (LEVELS - 1 for all); expired
-- heads are dead-lettered on the way.
local function next_due(P, q, now, top)
  for pri = top, 0, -1 do
    local lane = qkey(P, q, 'r' .. pri)
    while true do
      local head = redis.call('ZRANGE', lane, 0, 0, 'WITHSCORES')
      if not head[1] or tonumber(head[2]) > now then break end
      local seq = tonumber(head[1])
      local exp = tonumber(redis.call('HGET', mkey(P, seq), 'exp'))
      if not exp or exp > now then return seq, pri end
      dead_letter(P, seq, 'expired', false, now)
    end
  end
  return nil
end

-- Queue q's next deadline (a delayed message due, a lease running out, a
-- message expiring), or nil for none: when a process should look again.
local function next_deadline(P, q, now)
  local first
  local function consider(hit)
    local at = tonumber(hit[2])
    if at and (not first or at < first) then first = at end
  end
  for pri = 0, LEVELS - 1 do
    consider(redis.call('ZRANGE', qkey(P, q, 'r' .. pri), '(' .. int(now), '+inf', 'BYSCORE', 'LIMIT', 0, 1, 'WITHSCORES'))
  end
  consider(redis.call('ZRANGE', qkey(P, q, 'l'), 0, 0, 'WITHSCORES'))
  consider(redis.call('ZRANGE', qkey(P, q, 'x'), 0, 0, 'WITHSCORES'))
  return first
end

-- Registers function `name`: `body(P, args, now)` runs with the call's
-- state fresh, and afterwards every queue it touched files its next
-- deadline in P:due, so some process ticks it in time even if no process
-- that saw the change is left.
-- The earliest deadline of any queue, or nil.
local function earliest_due(P)
  local first = redis.call('ZRANGE', P .. ':due', 0, 0, 'WITHSCORES')
  return first[2] and tonumber(first[2])
end

local function register(name, body)
  redis.register_function('ferrymq_1_' .. name, function(keys, args)
    local meta = keys[1]
    if type(meta) ~= 'string' or string.sub(meta, -5) ~= ':meta' then
      return bad("KEYS[1] must be the broker's '{prefix}:meta'")
    end
    local P = string.sub(meta, 1, -6)
    caught, touched = {}, {}
    local t = now(P)
    local result = body(P, args, t)
    if next(touched) then
      local before = earliest_due(P)
      for q in pairs(touched) do
        local at = next_deadline(P, q, t)
        if at then redis.call('ZADD', P .. ':due', int(at), q) else redis.call('ZREM', P .. ':due', q) end
      end
      -- Every process arms its one timer from due(): an earlier deadline
      -- tells them to look again.
      local after = earliest_due(P)
      if after and (not before or after < before) then redis.call('PUBLISH', P .. ':deadline', int(after)) end
    end
    return result
  end)
end

-- The options of queue q after catching it up, or nil and an error reply.
local function open_queue(P, q, t)
  local c = type(q) == 'string' and cfg(P, q)
  if not c then return nil, bad('unknown queue ' .. tostring(q)) end
  catch_up(P, q, t)
  return c
end

-- A message's fields as send, request, send_batch and publish take them:
-- id ('' for a generated one), priority '0'..'9', delayMs (whole, >= 0),
-- ttlMs ('' for none, else whole, >= 1), body. Nil and an error reply if
-- any is malformed.
local function outgoing(id, pri, delay, ttl, body)
  if type(id) ~= 'string' or type(body) ~= 'string' then return nil, bad('a message needs an id and a body') end
  if type(pri) ~= 'string' or not string.match(pri, '^%d$') then return nil, bad('priority must be one of 0..9') end
  local d = whole(delay, 0)
  if not d then return nil, bad('delayMs must be a whole number, at least 0') end
  local l
  if ttl ~= '' then
    l = whole(ttl, 1)
    if not l then return nil, bad('ttlMs must be a whole number, at least 1') end
  end
  return { id = id, pri = pri, delay = d, ttl = l, body = body }
end

-- Whether message `msg` may enter queue q: true, false for a duplicate
-- inside the dedup window (or of an earlier item of the same batch), or nil
-- and an error reply when q is full and rejects. `earlier`: the ids and
-- count a batch admitted before it.
local function admit(P, q, c, msg, t, earlier)
  if msg.id ~= '' and c.dedup then
    local dedup = qkey(P, q, 'd')
    redis.call('ZREMRANGEBYSCORE', dedup, '-inf', int(t))
    if redis.call('ZSCORE', dedup, msg.id) or earlier.ids[msg.id] then return false end
  end
  if c.overflow ~= 'drop-oldest' and is_full(P, q, c, earlier.n) then
    return nil, redis.error_reply('QUEUE_FULL queue ' .. quoted(c.name) .. ' is full')
  end
  return true
end

local function first_admission()
  return { ids = {}, n = 0 }
end

-- Stores an admitted message and returns its seq; a queue that drops its
-- oldest on overflow makes room first.
local function enqueue(P, q, c, msg, t, request)
  while c.overflow == 'drop-oldest' and is_full(P, q, c, 0) do
    local oldest = oldest_waiting(P, q)
    if not oldest then break end
    dead_letter(P, oldest, 'maxlen', false, t)
  end
  local seq = redis.call('INCR', P .. ':seq')
  local ttl = msg.ttl
  if c.ttl and (not ttl or c.ttl < ttl) then ttl = c.ttl end
  local m = { q = q, pri = msg.pri, rdy = t + msg.delay, exp = ttl and t + ttl or nil }
  redis.call('HSET', mkey(P, seq), 'q', q, 'pri', msg.pri, 'enq', int(t), 'rdy', int(m.rdy), 'dlv', '0', 'body', msg.body)
  if msg.id ~= '' then redis.call('HSET', mkey(P, seq), 'id', msg.id) end
  if request then redis.call('HSET', mkey(P, seq), 'rq', request.inbox, 'rid', request.id) end
  if m.exp then redis.call('HSET', mkey(P, seq), 'exp', int(m.exp)) end
  place(P, q, seq, m, t)
  count(P, q, 'sent')
  if msg.id ~= '' and c.dedup then redis.call('ZADD', qkey(P, q, 'd'), int(t + c.dedup), msg.id) end
  return seq
end

local function stale(tag)
  return redis.error_reply('STALE_DELIVERY delivery ' .. tag .. ' is not in flight: already settled, or its lease expired')
end

-- Registers function `name(qid, seq, tag, ...)`, a change to one delivery:
-- `change(P, q, seq, now, tag, ...)` runs only while that delivery is in
-- flight under that tag, after catching the queue up (so a lease that ran
-- out is stale even before anyone reclaimed it); the answer is 1, what
-- `change` answered (an error), or STALE_DELIVERY.
local function on_delivery(name, change)
  register(name, function(P, args, t)
    local q, seq, tag = args[1], whole(args[2], 1), args[3]
    if not seq or type(tag) ~= 'string' then return bad('a delivery is named by its seq and tag') end
    local _, err = open_queue(P, q, t)
    if err then return err end
    local held = redis.call('HMGET', mkey(P, seq), 'q', 'tag')
    if held[1] ~= q or held[2] ~= tag then return stale(tag) end
    return change(P, q, seq, t, tag, args[4], args[5]) or 1
  end)
end

-- open(schema): refuses a broker written with another layout.
register('open', function(P, args, t)
  local schema = redis.call('HGET', P .. ':meta', 'schema')
  if schema and schema ~= SCHEMA then
    return redis.error_reply('STORAGE prefix ' .. P .. ' holds layout ' .. schema .. ', this version reads ' .. SCHEMA)
  end
  redis.call('HSET', P .. ':meta', 'schema', SCHEMA)
  return t
end)

-- declare(name, explicit, field, value, ...): the queue's id. Fields: canon
-- (the core's canonical options: equal means the same queue), maxLength,
-- overflow ('reject' or 'drop-oldest'), ttl, lease, maxDeliveries,
-- deadLetter ('' default, '-' discard, or a name), dedup; unset ones take
-- the core's defaults. An explicit declaration with other options than an
-- explicit one before is refused; a queue made implicitly adopts them.
register('declare', function(P, args)
  local name, explicit = args[1], args[2]
  local fields = { unpack(args, 3) }
  if type(name) ~= 'string' or (explicit ~= '0' and explicit ~= '1') or #fields % 2 ~= 0 then
    return bad('declare takes a name, 0 or 1, then field and value pairs')
  end
  local q = queue_id(P, name)
  if not q then return create_queue(P, name, fields, explicit) end
  if explicit == '0' then return q end
  local key = qkey(P, q, 'cfg')
  local was = redis.call('HMGET', key, 'explicit', 'canon')
  local canon
  for i = 1, #fields, 2 do if fields[i] == 'canon' then canon = fields[i + 1] end end
  if was[1] == '1' then
    if was[2] ~= canon then return bad('queue ' .. quoted(name) .. ' already exists with different options') end
    return q
  end
  redis.call('HDEL', key, 'maxLength', 'overflow', 'ttl', 'lease', 'maxDeliveries', 'deadLetter', 'dedup')
  redis.call('HSET', key, 'explicit', '1', unpack(fields))
  touched[q] = true
  return q
end)

-- One message to queue args[1], with id, priority, delayMs, ttlMs and body
-- in args[2..6]: { seq, now }, seq 0 for a duplicate. A request (its reply
-- inbox and id) refuses a duplicate instead: the earlier request owns it.
local function send_one(P, args, t, request)
  local msg, bad_msg = outgoing(args[2], args[3], args[4], args[5], args[6])
  if not msg then return bad_msg end
  -- The reply is pushed to the inbox after the ack: it must be a list of
  -- this broker's inboxes, never another key.
  if request and (type(request.inbox) ~= 'string' or type(request.id) ~= 'string'
      or string.sub(request.inbox, 1, #P + 7) ~= P .. ':inbox:') then
    return bad("a request needs an id and an inbox under '" .. P .. ":inbox:'")
  end
  local q = args[1]
  local c, err = open_queue(P, q, t)
  if not c then return err end
  local fresh, full = admit(P, q, c, msg, t, first_admission())
  if full then return full end
  if not fresh then
    if request then return bad('request id ' .. quoted(msg.id) .. ' was already used') end
    return { 0, t }
  end
  return { enqueue(P, q, c, msg, t, request), t }
end

-- send(qid, id, priority, delayMs, ttlMs, body): { seq, now }, seq 0 for a
-- duplicate inside the dedup window. id '' makes the seq the message's id;
-- ttlMs '' is none.
register('send', function(P, args, t)
  return send_one(P, args, t, nil)
end)

-- request(qid, id, priority, delayMs, ttlMs, body, inbox, rid, timeoutMs): a
-- send whose reply goes to list `inbox` as rid, body. The timeout is the
-- requester's to keep; a server of its own (js/share/host.ts) uses it.
register('request', function(P, args, t)
  return send_one(P, args, t, { inbox = args[7], id = args[8] })
end)

-- send_batch(qid, then per message: id, priority, delayMs, ttlMs, body):
-- every message or none (QUEUE_FULL); { now, seq... }, seq 0 for a duplicate.
register('send_batch', function(P, args, t)
  if (#args - 1) % 5 ~= 0 then return bad('a batch takes 5 arguments per message') end
  local msgs = {}
  for i = 2, #args, 5 do
    local msg, bad_msg = outgoing(args[i], args[i + 1], args[i + 2], args[i + 3], args[i + 4])
    if not msg then return bad_msg end
    msgs[#msgs + 1] = msg
  end
  local q = args[1]
  local c, err = open_queue(P, q, t)
  if not c then return err end
  local earlier = first_admission()
  local fresh = {}
  for k, msg in ipairs(msgs) do
    local ok, full = admit(P, q, c, msg, t, earlier)
    if full then return full end
    fresh[k] = ok
    if ok then
      earlier.n = earlier.n + 1
      if msg.id ~= '' then earlier.ids[msg.id] = true end
    end
  end
  local out = { t }
  for k, msg in ipairs(msgs) do out[k + 1] = fresh[k] and enqueue(P, q, c, msg, t) or 0 end
  return out
end)

-- claim(qid, max): up to max deliveries, each { seq, tag, id, deliveryCount,
-- enqueuedAt, request (1 if it carries one, else 0), body } (id '' for a
-- generated one), after { now, leaseMs,
-- nextIn } (ms to the queue's next deadline, -1 for none). Due messages
-- left behind wake the next blocked consumer.
register('claim', function(P, args, t)
  local q, max = args[1], whole(args[2], 1)
  if not max then return bad('max must be a whole number, at least 1') end
  local c, err = open_queue(P, q, t)
  if not c then return err end
  local out = { t, c.lease, -1 }
  -- Claiming adds nothing to q's lanes, so a lane found with nothing due
  -- stays so: each next look starts at the lane of the last one found.
  local top = LEVELS - 1
  for _ = 1, max do
    local seq, pri = next_due(P, q, t, top)
    if not seq then break end
    top = pri
    unplace(P, q, seq, pri)
    local tag = int(redis.call('INCR', P .. ':tag'))
    local dlv = redis.call('HINCRBY', mkey(P, seq), 'dlv', 1)
    redis.call('HSET', mkey(P, seq), 'tag', tag)
    lease_until(P, q, seq, t + c.lease)
    local f = redis.call('HMGET', mkey(P, seq), 'id', 'enq', 'rq', 'body')
    for _, v in ipairs({ seq, tag, f[1] or '', dlv, tonumber(f[2]), f[3] and 1 or 0, f[4] }) do out[#out + 1] = v end
  end
  if next_due(P, q, t, top) then wake(P, q) end
  local at = next_deadline(P, q, t)
  if at then out[3] = at - t end
  return out
end)

-- The bucket of latency v in the core's histogram (histogram.rs: exact
-- below 32, then 32 buckets per power of two), so the client's core can
-- read percentiles from the counts.
local function latency_bucket(v)
  if v < 32 then return v end
  local exp = 5
  while v >= 2 ^ (exp + 1) do exp = exp + 1 end
  local shift = exp - 5
  return 32 + shift * 32 + math.floor(v / 2 ^ shift) - 32
end

-- Message seq of queue q, sent at `enq`, is done: gone, counted by
-- `acks` (a table of latency bucket -> count) for `counted`.
local function finish(P, q, seq, enq, t, acks)
  redis.call('ZREM', qkey(P, q, 'l'), member(seq))
  redis.call('DEL', mkey(P, seq))
  local bucket = latency_bucket(math.max(0, t - enq))
  acks[bucket] = (acks[bucket] or 0) + 1
end

-- Counts the acks `finish` gathered in `acks`, `n` of them, at time t.
local function counted(P, q, acks, n, t)
  redis.call('HINCRBY', qkey(P, q, 'st'), 'acked', n)
  for bucket, k in pairs(acks) do redis.call('HINCRBY', qkey(P, q, 'lat'), bucket, k) end
  -- The throughput ring, as the core's (stats.rs): slot second % 10 counts that second.
  local second = math.floor(t / 1000)
  local tp, slot = qkey(P, q, 'tp'), second % 10
  local s, was = string.match(redis.call('HGET', tp, slot) or '', '^(%d+):(%d+)$')
  was = (tonumber(s) == second) and tonumber(was) or 0
  redis.call('HSET', tp, slot, int(second) .. ':' .. int(was + n))
end

-- ack(qid, seq, tag, seq, tag, ...): deliveries of queue qid are done, as
-- many as a client gathered while its previous ack call was out. Per
-- delivery 1, or STALE_DELIVERY if its lease ran out (even if not
-- reclaimed yet) or it was settled already.
register('ack', function(P, args, t)
  if #args < 3 or #args % 2 ~= 1 then return bad('ack takes a queue, then a seq and a tag per delivery') end
  for i = 2, #args, 2 do
    if not whole(args[i], 1) or type(args[i + 1]) ~= 'string' then return bad('a delivery is named by its seq and tag') end
  end
  local q = args[1]
  local _, err = open_queue(P, q, t)
  if err then return err end
  local out, acks, n = {}, {}, 0
  for i = 2, #args, 2 do
    local seq, tag = tonumber(args[i]), args[i + 1]
    local held = redis.call('HMGET', mkey(P, seq), 'q', 'tag', 'enq')
    if held[1] == q and held[2] == tag then
      finish(P, q, seq, tonumber(held[3]), t, acks)
      n = n + 1
      out[#out + 1] = 1
    else
      out[#out + 1] = stale(tag)
    end
  end
  if n > 0 then counted(P, q, acks, n, t) end
  return out
end)

-- nack(qid, seq, tag, requeue, waitMs): back after waitMs ('' for none: the
-- caller's delay, or the queue's backoff as the client's core computed it),
-- or dead-lettered ('rejected') when requeue is 0.
on_delivery('nack', function(P, q, seq, t, _, requeue, wait)
  local ms = wait == '' and 0 or whole(wait, 0)
  if (requeue ~= '0' and requeue ~= '1') or not ms then return bad('nack takes requeue 0 or 1 and a wait in ms') end
  if requeue == '1' then
    fail_delivery(P, seq, true, ms, t)
  elseif wait ~= '' then
    return bad('a delay only applies to a requeue')
  else
    dead_letter(P, seq, 'rejected', true, t)
  end
end)

-- extend(qid, seq, tag, ms): the lease now ends ms from now; 0 returns the
-- message at once, as a failed delivery (SQS ChangeMessageVisibility).
on_delivery('extend', function(P, q, seq, t, _, ms)
  local by = whole(ms, 0)
  if not by then return bad('ms must be a whole number, at least 0') end
  lease_until(P, q, seq, t + by)
  catch_up(P, q, t)
end)

-- release(qid, seq, tag): a delivery nobody received (its receiver went
-- away first) goes back to its place with its delivery count as before:
-- not a failed delivery.
on_delivery('release', function(P, q, seq, t)
  local m = message(P, seq)
  end_lease(P, q, seq)
  redis.call('HINCRBY', mkey(P, seq), 'dlv', -1)
  if m.exp and m.exp <= t then
    dead_letter(P, seq, 'expired', false, t)
  else
    place(P, q, seq, m, t)
  end
end)

-- fail(qid, seq, tag): a delivery its consumer gave up (cancelled, closed)
-- comes back as after its lease: a counted failure, not a nack.
on_delivery('fail', function(P, q, seq, t)
  fail_delivery(P, seq, false, 0, t)
end)

-- reply(qid, seq, tag, body): answers the request the delivery carries, and
-- acks it. The inbox outlives a requester that went away by an hour at most.
on_delivery('reply', function(P, q, seq, t, tag, body)
  if type(body) ~= 'string' then return bad('a reply needs a body') end
  local request = redis.call('HMGET', mkey(P, seq), 'rq', 'rid', 'enq')
  if not request[1] then return bad('delivery ' .. tag .. ' is not a request') end
  local acks = {}
  finish(P, q, seq, tonumber(request[3]), t, acks)
  counted(P, q, acks, 1, t)
  redis.call('RPUSH', request[1], request[2], body)
  redis.call('PEXPIRE', request[1], 3600000)
end)

-- stats(qid): { ready, delayed, inFlight, sent, acked, nacked, expired,
-- redelivered, deadLettered, now, then the throughput ring as 10 pairs
-- second, count (0, 0 for an empty slot), then the latency histogram as
-- pairs bucket, count }, after catching up.
register('stats', function(P, args, t)
  local q = args[1]
  local _, err = open_queue(P, q, t)
  if err then return err end
  local ready = 0
  for pri = 0, LEVELS - 1 do ready = ready + redis.call('ZCOUNT', qkey(P, q, 'r' .. pri), '-inf', int(t)) end
  local st = redis.call('HMGET', qkey(P, q, 'st'), 'sent', 'acked', 'nacked', 'expired', 'redelivered', 'deadLettered')
  local out = { ready, waiting(P, q) - ready, redis.call('ZCARD', qkey(P, q, 'l')) }
  for i = 1, 6 do out[#out + 1] = tonumber(st[i]) or 0 end
  out[#out + 1] = t
  local ring = redis.call('HMGET', qkey(P, q, 'tp'), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
  for i = 1, 10 do
    local s, n = string.match(ring[i] or '0:0', '^(%d+):(%d+)$')
    out[#out + 1] = tonumber(s)
    out[#out + 1] = tonumber(n)
  end
  for _, v in ipairs(redis.call('HGETALL', qkey(P, q, 'lat'))) do out[#out + 1] = tonumber(v) end
  return out
end)

-- purge(qid): drops every waiting message (not those in flight); how many.
register('purge', function(P, args, t)
  local q = args[1]
  local _, err = open_queue(P, q, t)
  if err then return err end
  local all = redis.call('ZRANGE', qkey(P, q, 'w'), 0, -1)
  for _, s in ipairs(all) do redis.call('DEL', mkey(P, tonumber(s))) end
  for pri = 0, LEVELS - 1 do redis.call('DEL', qkey(P, q, 'r' .. pri)) end
  redis.call('DEL', qkey(P, q, 'w'), qkey(P, q, 'x'), qkey(P, q, 'wake'))
  return #all
end)

-- tick(qid): catches queue q up with the clock (leases that ran out,
-- messages past their TTL, delayed messages now due) and says { now,
-- nextIn } for the next look, -1 for none.
register('tick', function(P, args, t)
  local q = args[1]
  local _, err = open_queue(P, q, t)
  if err then return err end
  -- Its entry in P:due was due: filed again, even if nothing changed.
  touched[q] = true
  if next_due(P, q, t, LEVELS - 1) then wake(P, q) end
  local at = next_deadline(P, q, t)
  return { t, at and at - t or -1 }
end)

-- due(): { now, ms to the earliest deadline of any queue (-1 for none), its
-- qid }: what every process arms its one timer from, to tick that queue.
register('due', function(P, args, t)
  local first = redis.call('ZRANGE', P .. ':due', 0, 0, 'WITHSCORES')
  if not first[1] then return { t, -1, '' } end
  return { t, math.max(0, tonumber(first[2]) - t), first[1] }
end)

-- The bindings' version after a bind or unbind that `changed` them (1) or not.
local function bindings_version(P, changed)
  if changed == 1 then return redis.call('INCR', P .. ':bver') end
  return tonumber(redis.call('GET', P .. ':bver')) or 0
end

-- bind(qid, pattern) and unbind(qid, pattern): the bindings' version after.
-- Patterns are checked by the client (the core's topic rules).
local function binding(name)
  register(name, function(P, args)
    local q, pattern = args[1], args[2]
    if not (type(q) == 'string' and cfg(P, q)) then return bad('unknown queue ' .. tostring(q)) end
    if type(pattern) ~= 'string' then return bad('a binding needs a pattern') end
    local key, field = P .. ':bindings', q .. ':' .. pattern
    if name == 'bind' then return bindings_version(P, redis.call('HSETNX', key, field, 1)) end
    return bindings_version(P, redis.call('HDEL', key, field))
  end)
end
binding('bind')
binding('unbind')

-- bindings(): { version, '<qid>:<pattern>'... }, for the client to route by.
register('bindings', function(P)
  local out = { bindings_version(P, 0) }
  for _, b in ipairs(redis.call('HKEYS', P .. ':bindings')) do out[#out + 1] = b end
  return out
end)

-- publish(version, n, qid1..qidn, id, priority, delayMs, ttlMs, body): one
-- copy to each of the n distinct queues the client routed the key to, by
-- bindings `version`; all admitted before any is sent. BINDINGS_CHANGED
-- when the bindings moved on: the client routes again. { now, seq per queue }.
register('publish', function(P, args, t)
  local version, n = whole(args[1], 0), whole(args[2], 0)
  if not version or not n or #args ~= n + 7 then return bad('publish takes a version, n, n queues and a message') end
  local msg, bad_msg = outgoing(args[n + 3], args[n + 4], args[n + 5], args[n + 6], args[n + 7])
  if not msg then return bad_msg end
  local seen = {}
  for i = 1, n do
    local q = args[2 + i]
    if seen[q] then return bad('queue ' .. q .. ' listed twice') end
    if not cfg(P, q) then return bad('unknown queue ' .. q) end
    seen[q] = true
  end
  if version ~= bindings_version(P, 0) then
    return redis.error_reply('BINDINGS_CHANGED the bindings changed: route again')
  end
  -- Every target caught up before any is admitted, as the core catches up
  -- the whole broker first: catching one up can dead-letter into another.
  local targets = {}
  for i = 1, n do
    local q = args[2 + i]
    targets[i] = { q = q, c = open_queue(P, q, t) }
  end
  for _, target in ipairs(targets) do
    local fresh, full = admit(P, target.q, target.c, msg, t, first_admission())
    if full then return full end
    target.fresh = fresh
  end
  local out = { t }
  for i, target in ipairs(targets) do
    out[i + 1] = target.fresh and enqueue(P, target.q, target.c, msg, t) or 0
  end
  return out
end)
