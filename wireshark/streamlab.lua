-- streamlab.lua: a Wireshark dissector for streamlab's protocol, both
-- dialects (docs/protocol.md).
--
-- Install: copy this file to the personal Lua plugins folder named in
-- Help > About Wireshark > Folders (on Linux ~/.local/lib/wireshark/plugins/),
-- or load it once: wireshark -X lua_script:wireshark/streamlab.lua
--
-- What it shows, per TCP segment:
--
--   client                              server
--   lista | download RV | quit          (original: one segment = one command)
--   hello streamlab/1 laptop\n ...      (framed: one line = one command)
--                                       track_data_start (original: no length)
--                                       track_data_start 846720 44100 2 s16le RV\n
--                                       [audio 1448 B]   (never reassembled)
--                                       track_data_end [RV\n]
--
-- Filters: streamlab.dialect, streamlab.command, streamlab.reply,
-- streamlab.status, streamlab.marker, streamlab.track.name,
-- streamlab.track.length, streamlab.track.format, streamlab.audio,
-- streamlab.missing, and the expert infos streamlab.expert.*.
--
-- How it reads the stream. Wireshark's TCP hands a dissector the segments
-- in capture order; a dissector that needs more bytes says so with
-- pinfo.desegment_offset/desegment_len, and TCP calls it again with the
-- held bytes and the next segment joined. We ask for that only for a few
-- bytes: a framed line that has no '\n' yet, and the last 1..13 bytes of
-- original audio that may be the beginning of `track_data_end` (or a
-- download reply that so far is a beginning of `track_data_start`).
-- Audio itself is counted, segment by segment, never held.
--
-- The state of a conversation (its dialect, whether a track is open, how
-- many audio bytes a framed header still promises) exists only on the
-- first pass, in capture order. What each call found is stored under the
-- frame number, and later passes (clicking a packet in the GUI, tshark -2)
-- draw the stored result, so they say the same thing.
--
-- The rules (port, markers, greeting, line bound) are streamlab_proto's;
-- tests/dissector.rs checks that the constants below still equal them,
-- and compares what this file finds in every capture in captures/ with
-- `streamlab analyze --json`.

local proto = Proto("streamlab", "streamlab audio streaming protocol")

-- The constants, as crates/proto spells them.
local PORT = 2635                         -- original::PORT
local TRACK_START = "track_data_start"    -- original::TRACK_START_WORD
local TRACK_END = "track_data_end"        -- original::TRACK_END_WORD
local HELLO = "hello "                    -- framed::HELLO_WORD (any case)
local MAX_LINE = 1024                     -- framed::MAX_LINE (commands)
local MAX_REPLY_LINE = 65536              -- framed::MAX_REPLY_LINE
-- The original server's commands that take no argument, and every word
-- a command may start with (request.rs): used to see two commands glued
-- into one segment.
local BARE_WORDS = { "lista_dispositivos", "devices", "lista", "list", "quit", "help", "10", "7", "9" }
local ALL_WORDS = { "lista_dispositivos", "att_status ", "download ", "devices", "status ",
                    "lista", "list", "quit", "help", "10", "7", "9" }
-- Audio that follows the start marker sooner than this was not held back
-- by the server's pause (--pause-ms, 50 ms by default).
local NO_PAUSE_S = 0.001

local f = {
    dialect = ProtoField.string("streamlab.dialect", "Dialect"),
    command = ProtoField.string("streamlab.command", "Command"),
    reply = ProtoField.string("streamlab.reply", "Reply"),
    status = ProtoField.uint16("streamlab.status", "Status code"),
    marker = ProtoField.string("streamlab.marker", "Marker"),
    name = ProtoField.string("streamlab.track.name", "Track name"),
    length = ProtoField.uint64("streamlab.track.length", "Announced audio bytes"),
    format = ProtoField.string("streamlab.track.format", "Audio format"),
    audio = ProtoField.uint32("streamlab.audio", "Audio bytes"),
    missing = ProtoField.uint32("streamlab.missing", "Bytes not captured"),
}
-- Every expert info below is also written into this field, so one filter,
-- streamlab.expert, finds them all (a display filter has no prefix match:
-- streamlab.expert.glued_start and the like name one kind each).
f.problem = ProtoField.string("streamlab.expert", "Problem")

proto.fields = { f.dialect, f.command, f.reply, f.status, f.marker, f.name,
                 f.length, f.format, f.audio, f.missing, f.problem }

local e = {
    glued = ProtoExpert.new("streamlab.expert.glued_start",
        "start marker glued to audio: a client that treats one recv() as one message fails here",
        expert.group.PROTOCOL, expert.severity.WARN),
    no_pause = ProtoExpert.new("streamlab.expert.no_pause",
        "audio right after the start marker, no pause: one recv() can still return both",
        expert.group.PROTOCOL, expert.severity.WARN),
    split = ProtoExpert.new("streamlab.expert.split_marker",
        "end marker split across segments",
        expert.group.REASSEMBLE, expert.severity.WARN),
    two = ProtoExpert.new("streamlab.expert.two_commands",
        "two commands in one segment",
        expert.group.PROTOCOL, expert.severity.WARN),
    gap = ProtoExpert.new("streamlab.expert.missing",
        "bytes of this stream were not captured here",
        expert.group.SEQUENCE, expert.severity.NOTE),
}
proto.experts = { e.glued, e.no_pause, e.split, e.two, e.gap }

-- Raises expert info `which` on tree item `ti`, with `text` (or the expert's
-- own), and writes the same text into streamlab.expert.
local function warn(ti, which, text, default)
    local words = text or default
    ti:add(f.problem, words):set_generated()
    if text then ti:add_proto_expert_info(which, text) else ti:add_proto_expert_info(which) end
end

proto.prefs.port = Pref.uint("TCP port", PORT,
    "The server's port (0: none; the heuristic still finds conversations on any port)")

local f_seq = Field.new("tcp.seq")
local f_len = Field.new("tcp.len")
local f_stream = Field.new("tcp.stream")

-- Per conversation state (first pass) and per call results (all passes).
local conversations, results

function proto.init()
    conversations = {}
    results = {}
end

------------------------------------------------------------------------
-- Small helpers
------------------------------------------------------------------------

-- The last value of a field in this frame (an ICMP error may quote an
-- inner TCP header first).
local function last_value(field)
    local all = { field() }
    local fi = all[#all]
    return fi and fi.value
end

-- Text for a column or a tree: printable ASCII as is, the rest escaped
-- as `streamlab analyze` does, cut after `max` bytes.
local function escape(s, max)
    local cut = max and #s > max
    if cut then s = s:sub(1, max) end
    s = s:gsub("[^ -~]", function(c)
        local named = { ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
        return named[c] or string.format("\\x%02x", c:byte())
    end)
    return cut and (s .. "…") or s
end

-- The longest k (at most #word - 1) such that data ends with the first k
-- bytes of word: how many bytes may be the beginning of a split marker.
local function partial_tail(data, word)
    for k = math.min(#word - 1, #data), 1, -1 do
        if data:sub(-k) == word:sub(1, k) then return k end
    end
    return 0
end

local function starts_with(s, prefix)
    return s:sub(1, #prefix) == prefix
end

-- "44.1 kHz stereo s16" from the framed header's fields.
local function describe_format(rate, channels, sample)
    local khz = string.format("%.3f", rate / 1000):gsub("0+$", ""):gsub("%.$", "")
    local ch = ({ ["1"] = "mono", ["2"] = "stereo" })[channels] or (channels .. " ch")
    return string.format("%s kHz %s %s", khz, ch, (sample:gsub("le$", "")))
end

-- Is this original-dialect segment two commands glued together? It is
-- when it is not itself a command, begins with a command that takes no
-- argument, and what follows begins another command.
local function two_commands(text)
    local low = text:lower()
    for _, w in ipairs(ALL_WORDS) do
        if low == w or (w:sub(-1) == " " and starts_with(low, w) and #low > #w) then
            return false
        end
    end
    for _, w in ipairs(BARE_WORDS) do
        local rest = low:sub(#w + 1)
        if starts_with(low, w) and #rest > 0 then
            for _, v in ipairs(ALL_WORDS) do
                if starts_with(rest, (v:gsub(" $", ""))) then return true end
            end
        end
    end
    return false
end

------------------------------------------------------------------------
-- The first pass: what one call's bytes are, given the conversation
------------------------------------------------------------------------

-- A result is a list of items, each drawn by `draw` below:
--   { kind = "command"|"reply"|"marker"|"audio"|"data"|"missing",
--     off, len (in this call's tvb), text, ... }
-- plus the bytes to hold back (deseg_offset, deseg_len) and the summary
-- for the Info column.

local function new_direction()
    return { base = nil, expect = nil, held_len = 0, held_frame = nil }
end

local function conversation(pinfo, claimed_by_client)
    local key = last_value(f_stream) or -1
    local c = conversations[key]
    if not c then
        local server_is_dst
        -- The server is on the port, or is whoever the heuristic's
        -- evidence says: the client begins with a command, the server
        -- sends markers.
        if pinfo.dst_port == proto.prefs.port then
            server_is_dst = true
        elseif pinfo.src_port == proto.prefs.port then
            server_is_dst = false
        else
            server_is_dst = claimed_by_client ~= false
        end
        c = {
            server_addr = tostring(server_is_dst and pinfo.dst or pinfo.src),
            server_port = server_is_dst and pinfo.dst_port or pinfo.src_port,
            dialect = nil,
            dirs = { client = new_direction(), server = new_direction() },
            download = false,       -- original: a download waits for its reply
            track = nil,            -- the open track
            body_lines = 0,         -- framed: lines of a counted reply to come
        }
        conversations[key] = c
    end
    return c
end

local function from_server(c, pinfo)
    return pinfo.src_port == c.server_port and tostring(pinfo.src) == c.server_addr
end

-- Where this call's bytes start in the direction's stream. TCP calls us
-- with a piece of one segment (all of it, or what follows a PDU that
-- ended in it), or with a reassembled PDU that began where we held bytes.
local function stream_offset(tvb, d)
    local seq, seglen = last_value(f_seq), last_value(f_len)
    if not seq or not seglen then return d.expect or 0, false end
    if not d.base then d.base = seq end
    local seg_end = (seq - d.base) % 4294967296 + seglen
    -- A reassembled PDU is a new buffer (offset 0); a piece of the
    -- segment sits after the headers and ends where the segment ends.
    if tvb:offset() == 0 and d.held_len > 0 and d.expect then
        return d.expect, true
    end
    return seg_end - tvb:reported_len(), false
end

local Reader = {}
Reader.__index = Reader

local function reader(tvb, pinfo, c, d)
    local r = setmetatable({ tvb = tvb, pinfo = pinfo, c = c, d = d, items = {},
                             deseg_offset = nil, deseg_len = nil }, Reader)
    r.caplen = tvb:len()
    r.len = tvb:reported_len()
    r.data = tvb:raw(0, r.caplen)
    return r
end

function Reader:add(item) table.insert(self.items, item) end

-- Hold the bytes from `off` on until `more` more (or one more segment).
function Reader:hold(off, more)
    self.deseg_offset = off
    self.deseg_len = more or DESEGMENT_ONE_MORE_SEGMENT
end

-- The bytes from `off` were not captured (snapshot length): nothing in
-- them can be read.
function Reader:uncaptured(off)
    if off < self.len then
        self:add({ kind = "missing", off = off, len = 0, n = self.len - off,
                   why = "beyond the snapshot length" })
    end
    return self.len
end

-- Audio: n bytes from off. The first audio of a track after an original
-- start marker may call for an expert info.
function Reader:audio(off, n)
    local t = self.c.track
    local item = { kind = "audio", off = off, len = math.max(0, math.min(n, self.caplen - off)), n = n }
    if t and not t.audio_seen then
        -- Only the original dialect breaks here: a framed header says
        -- where its audio ends, glued or not.
        t.audio_seen = true
        if self.c.dialect == "framed" then
            -- nothing to say
        elseif self.pinfo.number == t.start_frame then
            item.expert = "glued"
        elseif self.pinfo.rel_ts - t.start_time < NO_PAUSE_S then
            item.expert = "no_pause"
            item.gap_us = math.floor((self.pinfo.rel_ts - t.start_time) * 1e6 + 0.5)
        end
    end
    self:add(item)
end

function Reader:marker(word, off, len, extra)
    local item = extra or {}
    item.kind, item.off, item.len, item.text = "marker", off, len, word
    if self.d.held_len > off and self.reassembled and self.c.dialect ~= "framed" then
        item.split_from = self.d.held_frame
    end
    self:add(item)
    return item
end

-- The original server's text: a reply, or a track's start marker.
function Reader:original_text(off)
    local data, c = self.data, self.c
    if off >= self.caplen then return self:uncaptured(off) end
    local start_at = data:find(TRACK_START, off + 1, true)
    local end_at = data:find(TRACK_END, off + 1, true)
    if end_at and (not start_at or end_at < start_at) then
        -- An end marker with no track open: the capture began in a track.
        local n = end_at - 1 - off
        if n > 0 then self:add({ kind = "audio", off = off, len = n, n = n }) end
        self:marker(TRACK_END, end_at - 1, #TRACK_END)
        return end_at - 1 + #TRACK_END
    end
    if not start_at then
        local rest = data:sub(off + 1)
        if not c.dialect and rest:find("[^\t\n\r -~]") then
            -- The server, before the client spoke, sends bytes that are
            -- not text: the capture began in the middle of a track.
            c.track = { mid = true, audio_seen = true }
            return self:original_audio(off)
        end
        if c.download and starts_with(TRACK_START, rest) and self.caplen == self.len then
            -- The beginning of the start marker: wait for the rest.
            self:hold(off, #TRACK_START - #rest)
            return self.len
        end
        self:add({ kind = "reply", off = off, len = self.caplen - off, text = rest })
        if self.caplen < self.len then self:uncaptured(self.caplen) end
        return self.len
    end
    if start_at - 1 > off then
        self:add({ kind = "reply", off = off, len = start_at - 1 - off,
                   text = data:sub(off + 1, start_at - 1) })
    end
    self:marker(TRACK_START, start_at - 1, #TRACK_START, { original = true })
    c.download = false
    c.track = { start_frame = self.pinfo.number, start_time = self.pinfo.rel_ts }
    return start_at - 1 + #TRACK_START
end

-- Original audio: everything up to `track_data_end`. Only a tail that may
-- begin the marker is held back.
function Reader:original_audio(off)
    local data = self.data
    local at = data:find(TRACK_END, off + 1, true)
    if at then
        if at - 1 > off then self:audio(off, at - 1 - off) end
        self:marker(TRACK_END, at - 1, #TRACK_END)
        self.c.track = nil
        return at - 1 + #TRACK_END
    end
    if self.caplen < self.len then
        if self.caplen > off then self:audio(off, self.caplen - off) end
        return self:uncaptured(self.caplen)
    end
    local k = partial_tail(data:sub(off + 1), TRACK_END)
    if self.len - k > off then self:audio(off, self.len - k - off) end
    if k > 0 then self:hold(self.len - k, #TRACK_END - k) end
    return self.len
end

-- One framed line from the server.
function Reader:framed_line(off, line, n)
    local c = self.c
    if starts_with(line, TRACK_START .. " ") then
        local bytes, rate, ch, sample, name =
            line:match("^%S+ (%d+) (%d+) (%d+) (%S+) (.+)$")
        local item = self:marker(TRACK_START, off, n, { line = line })
        if bytes then
            item.name, item.bytes = name, tonumber(bytes)
            item.format = describe_format(tonumber(rate), ch, sample)
            item.format_raw = string.format("%s %s %s", rate, ch, sample)
            c.track = { start_frame = self.pinfo.number, start_time = self.pinfo.rel_ts,
                        remaining = tonumber(bytes), name = name }
        end
    elseif line == TRACK_END or starts_with(line, TRACK_END .. " ") then
        self:marker(TRACK_END, off, n, { line = line, name = line:sub(#TRACK_END + 2) })
        c.track = nil
    else
        local item = { kind = "reply", off = off, len = n, text = line }
        if c.body_lines > 0 then
            c.body_lines = c.body_lines - 1
            item.body = true
        else
            item.status = tonumber(line:match("^ERR (%d+)"))
            c.body_lines = tonumber(line:match("^OK (%d+) ")) or 0
        end
        self:add(item)
    end
end

-- The framed server: lines, and counted audio after a header.
function Reader:framed_server(off)
    local c = self.c
    local t = c.track
    if t and t.remaining and t.remaining > 0 then
        local n = math.min(t.remaining, self.len - off)
        self:audio(off, n)
        t.remaining = t.remaining - n
        return off + n
    end
    return self:line(off, MAX_REPLY_LINE, function(o, line, n) self:framed_line(o, line, n) end)
end

-- A line from off: handed to `each` with its length (line ending
-- included); an incomplete one is held back, up to `max` bytes.
function Reader:line(off, max, each)
    if off >= self.caplen then return self:uncaptured(off) end
    local nl = self.data:find("\n", off + 1, true)
    if not nl then
        if self.caplen < self.len then return self:uncaptured(off) end
        if self.len - off <= max + 1 then
            self:hold(off)
            return self.len
        end
        self:add({ kind = "data", off = off, len = self.len - off,
                   text = string.format("a line longer than %d bytes", max) })
        return self.len
    end
    local line = self.data:sub(off + 1, nl - 1):gsub("\r$", "")
    each(off, line, nl - off)
    return nl
end

-- The client's bytes.
function Reader:client(off)
    local c = self.c
    if c.dialect == "framed" then
        return self:line(off, MAX_LINE, function(o, line, n)
            if line:match("%S") then
                self:add({ kind = "command", off = o, len = n, text = line })
            end
        end)
    end
    -- Original: the whole segment is one command, as the server reads it.
    local text = self.data:sub(off + 1)
    local item = { kind = "command", off = off, len = self.caplen - off, text = text }
    if two_commands(text) then item.expert = "two" end
    c.download = text:lower():match("^download%s+%S") ~= nil
    self:add(item)
    return self.len
end

-- Is the dialect settled by the client's first bytes? `hello ` in any
-- case means framed; a first byte that cannot begin it means original.
local function detect(first)
    local n = math.min(#first, #HELLO)
    if first:sub(1, n):lower() ~= HELLO:sub(1, n) then return "original" end
    if n == #HELLO then return "framed" end
    return nil
end

-- Reads one call's bytes into items; returns the result to store.
local function analyze(tvb, pinfo, c, server)
    local d = server and c.dirs.server or c.dirs.client
    local start, reassembled = stream_offset(tvb, d)
    local r = reader(tvb, pinfo, c, d)
    r.reassembled = reassembled
    local off = 0
    if d.expect and start > d.expect then
        -- A hole: bytes never handed to us (a lost segment, resent
        -- later). Inside a track they are audio, counted but not seen.
        local gap = start - d.expect
        local t = c.track
        local audio = t and math.min(gap, t.remaining or gap) or 0
        if audio > 0 then
            r:add({ kind = "audio", off = 0, len = 0, n = audio })
            if t.remaining then t.remaining = t.remaining - audio end
        end
        if gap > audio then
            r:add({ kind = "missing", off = 0, len = 0, n = gap - audio,
                    why = "a segment not captured (lost, or the capture began later)" })
        end
    elseif d.expect and start < d.expect then
        -- Seen before: a retransmission (TCP hands them on when its
        -- preference tcp.no_subdissector_on_error is off).
        off = math.min(d.expect - start, r.len)
        r:add({ kind = "data", off = 0, len = math.min(off, r.caplen),
                text = string.format("retransmission: %d B already accounted for", off) })
    end
    if not server and not c.dialect then
        c.dialect = detect(r.data)
        if not c.dialect then
            r:hold(0)
            off = r.len
        end
    end
    while off < r.len and not r.deseg_offset do
        local before = off
        if not server then
            off = r:client(off)
        elseif c.dialect == "framed" then
            off = r:framed_server(off)
        elseif c.track then
            off = r:original_audio(off)
        elseif c.dialect == "original" then
            off = r:original_text(off)
        else
            -- The server before the client spoke: a busy reply, or the
            -- middle of a conversation whose start the capture missed.
            off = r:original_text(off)
        end
        assert(off > before, "no progress")
    end
    local used = r.deseg_offset or r.len
    d.expect = math.max(d.expect or 0, start + used)
    if r.deseg_offset then
        d.held_len = r.len - r.deseg_offset
        d.held_frame = d.held_len > 0 and (reassembled and d.held_frame or pinfo.number) or nil
    else
        d.held_len = 0
    end
    return { items = r.items, dialect = c.dialect, server = server,
             deseg_offset = r.deseg_offset, deseg_len = r.deseg_len }
end

------------------------------------------------------------------------
-- Every pass: drawing a stored result
------------------------------------------------------------------------

local function summary(item)
    if item.kind == "command" then return escape(item.text, 48) end
    if item.kind == "reply" then return escape(item.text, 48) end
    if item.kind == "audio" then
        if item.len == 0 then return string.format("[audio %d B not captured]", item.n) end
        return string.format("[audio %d B]", item.n)
    end
    if item.kind == "missing" then return string.format("[%d B not captured]", item.n) end
    if item.kind == "data" then return "[" .. item.text .. "]" end
    if item.text == TRACK_START then
        if item.bytes then
            return string.format("track_data_start %s (%d B, %s)", escape(item.name, 48), item.bytes, item.format)
        elseif item.original then
            return "track_data_start (original: no length; 44.1 kHz stereo s16 assumed)"
        end
        return escape(item.line or item.text, 48)
    end
    return escape(item.line or item.text, 48)
end

local function range(tvb, item)
    if item.len > 0 then return tvb(item.off, item.len) end
    return nil
end

local function add(tree, field, rng, value)
    if rng then return tree:add(field, rng, value) end
    return tree:add(field, value)
end

local function draw(tvb, pinfo, tree, res)
    local root = tree:add(proto, tvb(), string.format("streamlab, %s dialect, %s",
        res.dialect or "unknown", res.server and "server to client" or "client to server"))
    if res.dialect then root:add(f.dialect, res.dialect):set_generated() end
    local words = {}
    for _, item in ipairs(res.items) do
        local rng = range(tvb, item)
        if item.kind == "command" then
            local ti = add(root, f.command, rng, item.text)
            if item.expert == "two" then warn(ti, e.two, nil, "two commands in one segment") end
        elseif item.kind == "reply" then
            local ti = add(root, f.reply, rng, item.text)
            if item.body then ti:append_text(" (counted body line)") end
            if item.status then ti:add(f.status, rng, item.status) end
        elseif item.kind == "audio" then
            local ti = add(root, f.audio, rng, item.n)
            if item.expert == "glued" then
                warn(ti, e.glued, nil,
                    "start marker glued to audio: a client that treats one recv() as one message fails here")
            elseif item.expert == "no_pause" then
                warn(ti, e.no_pause, string.format(
                    "audio %d µs after the start marker, no pause: one recv() can still return both",
                    item.gap_us))
            end
            if item.len < item.n then
                ti:append_text(string.format(" (%d B captured)", item.len))
            end
            if item.len == 0 then ti:set_generated() end
        elseif item.kind == "missing" then
            local ti = root:add(f.missing, item.n)
            ti:set_generated()
            warn(ti, e.gap, string.format("%d bytes of this stream were not captured here: %s",
                item.n, item.why))
        elseif item.kind == "data" then
            root:add(rng, item.text)
        else
            local ti = add(root, f.marker, rng, item.text)
            if item.name then root:add(f.name, rng, item.name) end
            if item.bytes then root:add(f.length, rng, UInt64.new(item.bytes)) end
            if item.format then
                root:add(f.format, rng, item.format_raw):append_text(" (" .. item.format .. ")")
            end
            if item.original and item.text == TRACK_START then
                ti:add(rng, "[No length and no format follow: the audio ends at track_data_end, "
                    .. "and the original client plays it as 44.1 kHz stereo s16]")
            end
            if item.split_from then
                local which = item.text == TRACK_END and "end" or "start"
                warn(ti, e.split, string.format(
                    "%s marker split across segments (it began in frame %d)", which, item.split_from))
            end
        end
        table.insert(words, summary(item))
    end
    if res.deseg_offset and res.deseg_offset < tvb:reported_len() then
        root:add(tvb(res.deseg_offset), string.format(
            "[%d B held for the next segment]", tvb:reported_len() - res.deseg_offset))
    end
    if #words > 0 then
        pinfo.cols.protocol = "streamlab"
        local info = table.concat(words, ", ")
        if pinfo.private.streamlab_info then
            pinfo.cols.info:append(", " .. info)
        else
            pinfo.cols.info = info
        end
        pinfo.private.streamlab_info = "1"
    end
end

------------------------------------------------------------------------
-- Entry points
------------------------------------------------------------------------

local function dissect(tvb, pinfo, tree, claimed_by_client)
    local c = conversation(pinfo, claimed_by_client)
    local key = string.format("%d:%d:%d", pinfo.number, tvb:offset(), tvb:reported_len())
    local res = results[key]
    if not res then
        if pinfo.visited then return 0 end   -- never seen on the first pass
        res = analyze(tvb, pinfo, c, from_server(c, pinfo))
        results[key] = res
    end
    draw(tvb, pinfo, tree, res)
    if res.deseg_offset then
        pinfo.desegment_offset = res.deseg_offset
        pinfo.desegment_len = res.deseg_len
    end
    return tvb:reported_len()
end

function proto.dissector(tvb, pinfo, tree)
    return dissect(tvb, pinfo, tree, nil)
end

-- A conversation on another port is ours if the client begins as ours
-- does, or if either side sends a marker.
local function heuristic(tvb, pinfo, tree)
    local data = tvb:raw(0, math.min(tvb:len(), 1024))
    local low = data:lower()
    local by_client
    if starts_with(low, HELLO) or starts_with(data, "lista") or starts_with(data, "download ") then
        by_client = true
    elseif data:find(TRACK_START, 1, true) or data:find(TRACK_END, 1, true) then
        by_client = false
    else
        return false
    end
    pinfo.conversation = proto
    dissect(tvb, pinfo, tree, by_client)
    return true
end

proto:register_heuristic("tcp", heuristic)

local registered_port = nil
local function register_port()
    local tcp = DissectorTable.get("tcp.port")
    if registered_port then tcp:remove(registered_port, proto) end
    registered_port = nil
    if proto.prefs.port ~= 0 then
        tcp:add(proto.prefs.port, proto)
        registered_port = proto.prefs.port
    end
end

function proto.prefs_changed()
    register_port()
end

register_port()
