-- `cartridge/ask`: the question (optionally about a range of the buffer) goes out with a
-- partialResultToken, the answer streams into a floating window, and closing the window
-- before the answer is complete cancels the request.
local client = require('cartlsp.client')
local progress = require('cartlsp.progress')
local status = require('cartlsp.status')
local window = require('cartlsp.window')

local M = {}

-- Sessions waiting for their answer: a server that exits never answers them.
local pending = {}
status.subscribe(function(st, client_id)
  if st.state ~= 'exited' then
    return
  end
  for session in pairs(pending) do
    if session.client_id == client_id then
      pending[session] = nil
      progress.forget(session.token)
      local how = (st.signal or 0) ~= 0 and 'signal ' .. st.signal or 'code ' .. tostring(st.exitCode)
      session.done, session.err = true, { message = 'the server exited (' .. how .. ') before answering' }
      session.view:fail(session.err.message)
    end
  end
end)

-- ask sends the question; opts: question, bufnr (default current), range (an LSP range in
-- bufnr). It returns the session: {view, client_id, request_id, pieces, done, err, result,
-- cancelled}; nil (after saying why) when nothing could be sent.
function M.ask(opts)
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local c, why = client.get(bufnr)
  if not c then
    vim.notify('cartlsp: no server for this buffer: ' .. why, vim.log.levels.ERROR)
    return nil
  end
  local session = { client_id = c.id, pieces = 0, done = false, cancelled = false }
  local view = window.open(opts.question)
  session.view = view
  local token = progress.listen('ask', function(value)
    if type(value) == 'table' and type(value.text) == 'string' then
      session.pieces = session.pieces + 1
      view:append(value.text)
    end
  end)
  session.token = token
  local params = { question = opts.question, partialResultToken = token }
  if opts.range then
    params.textDocument = { uri = vim.uri_from_bufnr(bufnr) }
    params.range = opts.range
  end
  local ok, id = client.call(c, 'request', 'cartridge/ask', params, function(err, result)
    progress.forget(token)
    pending[session] = nil
    session.done, session.err, session.result = true, err, result
    if err then
      view:fail(err.message or vim.inspect(err))
    elseif type(result) == 'table' then
      view:finish(result)
    else
      view:fail('the server answered without a result')
    end
  end, bufnr)
  if not ok then
    progress.forget(token)
    view:fail('the server is not running')
    return nil
  end
  session.request_id = id
  pending[session] = true
  view.on_close = function()
    if not session.done then
      pending[session] = nil
      session.cancelled = true
      progress.forget(token)
      client.call(c, 'cancel_request', id)
    end
  end
  return session
end

-- utf16 is the number of UTF-16 code units in s (LSP's default position encoding);
-- counted by hand because vim.str_utfindex changed its signature in 0.11.
local function utf16(s)
  local _, chars = s:gsub('[^\128-\191]', '')
  local _, astral = s:gsub('[\240-\247]', '') -- 4-byte sequences take two units
  return chars + astral
end

-- char_bytes is the length of the UTF-8 character that starts at byte col0 (0-based).
local function char_bytes(line, col0)
  local b = line:byte(col0 + 1) or 0
  return b >= 0xF0 and 4 or b >= 0xE0 and 3 or b >= 0xC0 and 2 or 1
end

-- selection_range is the LSP range of lines line1..line2 (1-based): whole lines (the
-- end at the next line's character 0), narrowed to the characters of the last visual
-- selection when it was charwise on exactly those lines.
function M.selection_range(bufnr, line1, line2)
  local s = vim.api.nvim_buf_get_mark(bufnr, '<')
  local e = vim.api.nvim_buf_get_mark(bufnr, '>')
  if vim.fn.visualmode() == 'v' and s[1] == line1 and e[1] == line2 then
    local first = vim.api.nvim_buf_get_lines(bufnr, line1 - 1, line1, false)[1] or ''
    local last = vim.api.nvim_buf_get_lines(bufnr, line2 - 1, line2, false)[1] or ''
    local scol = math.min(s[2], #first)
    -- '> is the last character's first byte, or v:maxcol after `$`: make it exclusive.
    local ecol = #last == 0 and 0 or math.min(e[2], #last - 1)
    ecol = math.min(#last, ecol + char_bytes(last, ecol))
    return {
      start = { line = line1 - 1, character = utf16(first:sub(1, scol)) },
      ['end'] = { line = line2 - 1, character = utf16(last:sub(1, ecol)) },
    }
  end
  return { start = { line = line1 - 1, character = 0 }, ['end'] = { line = line2, character = 0 } }
end

return M
