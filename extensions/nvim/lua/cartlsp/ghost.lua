-- Ghost text: the server's inline completion (textDocument/inlineCompletion, the rest of
-- the block) shown after the cursor as you type. On Neovim 0.12+ it is Neovim's own
-- vim.lsp.inline_completion, turned on for the cartlsp clients; before (0.7+), or with
-- ghost.native = false, extmarks drawn by this module: the first line as virtual text at
-- the cursor, the others as virtual lines below it.
local client = require('cartlsp.client')

local M = {}

M.ns = vim.api.nvim_create_namespace('cartlsp_ghost')
local defaults = { enable = false, debounce_ms = 150, native = true, keymaps = nil }
M.config = vim.deepcopy(defaults)

local has_native = vim.lsp.inline_completion ~= nil and vim.fn.has('nvim-0.12') == 1
local inline_pos = vim.fn.has('nvim-0.10') == 1 -- virt_text_pos = 'inline'

local function highlight()
  vim.cmd('highlight default link CartlspGhost Comment')
end
highlight()

-- The suggestion on screen: bufnr, row (0-based), col (byte), tick (the buffer's changedtick
-- when shown: an event that finds the buffer and the cursor as they were is this module's
-- own), and text, what follows the cursor.
local shown = nil
local timer = nil
local pending = nil -- { client, id } of the request in flight
local seq = 0 -- numbers the requests: only the latest one's answer shows
local mapped = {} -- lhs of the keys configure mapped

-- uses_native reports whether Neovim's own inline completion shows the ghost text.
function M.uses_native()
  return has_native and M.config.native ~= false
end

local function stop_timer()
  if timer then
    timer:stop()
    timer:close()
    timer = nil
  end
end

local function cancel_pending()
  seq = seq + 1
  if pending then
    pcall(client.call, pending.client, 'cancel_request', pending.id)
    pending = nil
  end
end

-- clear removes the ghost text.
function M.clear()
  if shown and vim.api.nvim_buf_is_valid(shown.bufnr) then
    vim.api.nvim_buf_clear_namespace(shown.bufnr, M.ns, 0, -1)
  end
  shown = nil
end

-- native_mark returns Neovim's own inline completion extmark in bufnr (its row, col and
-- text), when one shows.
local function native_mark(bufnr)
  local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
  if not ns then
    return nil
  end
  local mark = vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { details = true, limit = 1 })[1]
  if not mark then
    return nil
  end
  local d = mark[4] or {}
  local function join(chunks)
    local t = {}
    for _, chunk in ipairs(chunks or {}) do
      table.insert(t, chunk[1])
    end
    return table.concat(t)
  end
  local lines = { join(d.virt_text) }
  for _, l in ipairs(d.virt_lines or {}) do
    table.insert(lines, join(l))
  end
  return { row = mark[2], col = mark[3], text = table.concat(lines, '\n') }
end

-- at_anchor reports whether the current buffer and cursor are where the ghost text was
-- shown, the buffer unchanged since.
local function at_anchor()
  if not shown or shown.bufnr ~= vim.api.nvim_get_current_buf() then
    return false
  end
  local cur = vim.api.nvim_win_get_cursor(0)
  return cur[1] - 1 == shown.row and cur[2] == shown.col
    and vim.api.nvim_buf_get_changedtick(shown.bufnr) == shown.tick
end

-- visible reports whether ghost text shows at the cursor of the current buffer.
function M.visible()
  if M.uses_native() then
    return native_mark(vim.api.nvim_get_current_buf()) ~= nil
  end
  return at_anchor() and shown.text ~= ''
end

-- text is the ghost text (from the cursor on), or nil.
function M.text()
  if M.uses_native() then
    local m = native_mark(vim.api.nvim_get_current_buf())
    return m and m.text
  end
  return M.visible() and shown.text or nil
end

local function render()
  local s = shown
  vim.api.nvim_buf_clear_namespace(s.bufnr, M.ns, 0, -1)
  if s.text == '' then
    return
  end
  local lines = vim.split(s.text, '\n', { plain = true })
  local line = vim.api.nvim_buf_get_lines(s.bufnr, s.row, s.row + 1, false)[1] or ''
  local opts = { hl_mode = 'combine' }
  if lines[1] ~= '' then
    opts.virt_text = { { lines[1], 'CartlspGhost' } }
    if inline_pos then
      opts.virt_text_pos = 'inline' -- 0.10+: between the cursor and the rest of the line
    elseif s.col >= #line then
      opts.virt_text_pos = 'overlay' -- at the end of the line: exactly at the cursor ('eol' leaves a gap)
    else
      opts.virt_text_pos = 'eol' -- within the line: after it, so as not to hide the text after the cursor
    end
  end
  if #lines > 1 then
    local virt = {}
    for i = 2, #lines do
      table.insert(virt, { { lines[i], 'CartlspGhost' } })
    end
    opts.virt_lines = virt
  end
  vim.api.nvim_buf_set_extmark(s.bufnr, M.ns, s.row, math.min(s.col, #line), opts)
end

-- show puts text (from the cursor on) as ghost text at (row, col) of bufnr.
local function show(bufnr, row, col, text)
  M.clear()
  shown = { bufnr = bufnr, row = row, col = col, text = text, tick = vim.api.nvim_buf_get_changedtick(bufnr) }
  render()
end

-- byte_col is the byte offset in line of an LSP character offset in the client's encoding
-- (counted by hand: vim.str_byteindex changed its signature in 0.11).
local function byte_col(line, character, encoding)
  if encoding == 'utf-8' then
    return math.min(character, #line)
  end
  local i, units = 0, 0
  while i < #line and units < character do
    local b = line:byte(i + 1)
    local n = b >= 0xF0 and 4 or b >= 0xE0 and 3 or b >= 0xC0 and 2 or 1
    units = units + ((n == 4 and encoding ~= 'utf-32') and 2 or 1)
    i = i + n
  end
  return math.min(i, #line)
end

-- item_text is the part of an inline completion item to show from the cursor. The item
-- replaces its range, which may start before the cursor (the server's takes the white
-- space before it): what the buffer already holds there is left out, and white space the
-- item writes differently stays as typed.
local function item_text(item, line, col, encoding)
  local text = item.insertText
  if type(text) == 'table' then
    text = text.value -- a snippet: shown and inserted as its text
  end
  if type(text) ~= 'string' or text == '' then
    return nil
  end
  local r = item.range
  if r and r.start and r['end'] and r.start.line == r['end'].line then
    local start = byte_col(line, r.start.character, encoding)
    local typed = start < col and line:sub(start + 1, col) or ''
    if typed ~= '' and text:sub(1, #typed) == typed then
      text = text:sub(#typed + 1)
    elseif typed ~= '' and vim.trim(typed) == '' then
      text = text:gsub('^[ \t]*', '')
    end
  end
  return text
end

-- request asks the server for an inline completion at the cursor of the current window,
-- invoked (kind 1, from a key or command; the default) or automatic (kind 2, as you type),
-- cancelling the one in flight. It uses the buffer's cartlsp client when it is attached and
-- initialized, and starts nothing. done(text or nil) is called when the answer is shown
-- or dropped (for tests). It returns whether a request went out.
function M.request(kind, done)
  local function finish(text)
    if done then
      done(text)
    end
  end
  local bufnr = vim.api.nvim_get_current_buf()
  stop_timer()
  cancel_pending()
  local c = client.attached(bufnr)
  if not c then
    finish(nil)
    return false
  end
  if M.uses_native() then
    -- Neovim's own: get() requests (kind invoked) when nothing shows.
    if not M.visible() then
      vim.lsp.inline_completion.get({ bufnr = bufnr })
    end
    finish(nil)
    return true
  end
  local cur = vim.api.nvim_win_get_cursor(0)
  local row, col = cur[1] - 1, cur[2]
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local params = vim.lsp.util.make_position_params(0, c.offset_encoding)
  params.context = { triggerKind = kind or 1 }
  local mine = seq
  local ok, id = client.call(c, 'request', 'textDocument/inlineCompletion', params, function(err, result)
    if mine ~= seq then
      return finish(nil) -- cancelled or superseded: the answer is for another cursor
    end
    pending = nil
    local now = vim.api.nvim_win_get_cursor(0)
    if err or type(result) ~= 'table' or vim.api.nvim_get_current_buf() ~= bufnr
      or vim.api.nvim_buf_get_changedtick(bufnr) ~= tick or now[1] - 1 ~= row or now[2] ~= col then
      return finish(nil)
    end
    local items = result.items or result
    local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
    local text = items[1] and item_text(items[1], line, col, c.offset_encoding)
    if text and vim.trim(text) ~= '' then
      show(bufnr, row, col, text)
    else
      M.clear()
      text = nil
    end
    finish(text)
  end, bufnr)
  if ok then
    pending = { client = c, id = id }
  else
    finish(nil)
  end
  return ok and true or false
end

-- put inserts s at (row, col) of bufnr and moves the cursor after it; it returns where.
local function put(bufnr, row, col, s)
  local lines = vim.split(s, '\n', { plain = true })
  vim.api.nvim_buf_set_text(bufnr, row, col, row, col, lines)
  local erow = row + #lines - 1
  local ecol = #lines == 1 and col + #s or #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { erow + 1, ecol })
  return erow, ecol
end

-- next_word is text's start up to the end of its next word (white space before it
-- included), or its next run of other characters.
local function next_word(t)
  return t:match('^%s*[%w_\128-\255]+') or t:match('^%s*[^%w_%s\128-\255]+') or t
end

-- next_line is the rest of text's first line, or at its end the line break and the next line.
local function next_line(t)
  local nl = t:find('\n', 1, true)
  if not nl then
    return t
  end
  if nl > 1 then
    return t:sub(1, nl - 1)
  end
  local nl2 = t:find('\n', 2, true)
  return nl2 and t:sub(1, nl2 - 1) or t
end

-- take inserts the part of the ghost text that pick chooses; the rest stays shown.
local function take(pick)
  if M.uses_native() then
    local bufnr = vim.api.nvim_get_current_buf()
    local m = native_mark(bufnr)
    if not m then
      return false
    end
    put(bufnr, m.row, m.col, pick(m.text)) -- Neovim hides the rest as the cursor moves
    return true
  end
  if not M.visible() then
    return false
  end
  local st = shown
  local part = pick(st.text)
  local rest = st.text:sub(#part + 1)
  local row, col = put(st.bufnr, st.row, st.col, part)
  if vim.trim(rest) ~= '' then
    show(st.bufnr, row, col, rest)
  else
    M.clear()
  end
  return true
end

-- accept inserts all of the ghost text; false when none shows.
function M.accept()
  if M.uses_native() then
    if not M.visible() then
      return false
    end
    local r = vim.lsp.inline_completion.get({ bufnr = vim.api.nvim_get_current_buf() })
    return r ~= false
  end
  return take(function(t)
    return t
  end)
end

-- accept_word inserts the ghost text up to the end of its next word.
function M.accept_word()
  return take(next_word)
end

-- accept_line inserts the rest of the ghost text's current line.
function M.accept_line()
  return take(next_line)
end

-- dismiss hides the ghost text (and cancels the request in flight) until the next keystroke;
-- it returns whether ghost text showed.
function M.dismiss()
  local was = M.visible()
  stop_timer()
  cancel_pending()
  if M.uses_native() then
    local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
    if ns then
      vim.api.nvim_buf_clear_namespace(0, ns, 0, -1)
    end
  end
  M.clear()
  return was
end

-- changed runs on TextChangedI and CursorMovedI: unless the buffer and the cursor are where
-- the ghost text shows (this module's own edit), it hides it and asks again after
-- debounce_ms without a keystroke.
local function changed(args)
  if at_anchor() then
    return
  end
  M.dismiss()
  if not client.attached(args.buf) then
    return
  end
  timer = vim.loop.new_timer()
  timer:start(M.config.debounce_ms, 0, vim.schedule_wrap(function()
    stop_timer()
    if vim.api.nvim_get_current_buf() == args.buf and vim.fn.mode():sub(1, 1) == 'i' then
      M.request(2)
    end
  end))
end

-- The actions setup's ghost.keymaps may map, by their names there (and here).
local actions = { accept = true, accept_word = true, accept_line = true, dismiss = true }

-- map sets an insert-mode key that runs the action when ghost text shows, and is the key
-- itself (without remapping) otherwise. The action runs through <Cmd>, in order with the
-- keys typed after it (an expression mapping may not change the buffer).
local function map(lhs, action, desc)
  vim.keymap.set('i', lhs, function()
    if M.visible() then
      return string.format("<Cmd>lua require('cartlsp.ghost').%s()<CR>", action)
    end
    return lhs
  end, { expr = true, silent = true, desc = desc })
  table.insert(mapped, lhs)
end

-- enabled is whether the ghost text runs (setup's ghost.enable, :CartGhost).
function M.enabled()
  return M.config.enable
end

-- native_enable turns Neovim's own inline completion on or off for the cartlsp clients.
local function native_enable(on, id)
  local ids = {}
  if id then
    ids = { id }
  else
    for _, c in ipairs(vim.lsp.get_clients({ name = 'cartlsp' })) do
      table.insert(ids, c.id)
    end
  end
  for _, i in ipairs(ids) do
    pcall(vim.lsp.inline_completion.enable, on, { client_id = i })
  end
end

-- set turns the ghost text on or off for every buffer.
function M.set(on)
  M.config.enable = on
  local group = vim.api.nvim_create_augroup('cartlsp_ghost', { clear = true })
  M.dismiss()
  vim.api.nvim_create_autocmd('ColorScheme', { group = group, callback = highlight })
  if M.uses_native() then
    native_enable(on)
    if on then
      vim.api.nvim_create_autocmd('LspAttach', {
        group = group,
        callback = function(args)
          local c = vim.lsp.get_client_by_id(args.data.client_id)
          if c and c.name == 'cartlsp' then
            native_enable(true, c.id)
          end
        end,
      })
    end
    return
  end
  if not on then
    return
  end
  vim.api.nvim_create_autocmd({ 'TextChangedI', 'CursorMovedI' }, { group = group, callback = changed })
  vim.api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave', 'CursorMoved' }, {
    group = group,
    callback = function()
      M.dismiss()
    end,
  })
end

-- configure applies setup's ghost options: { enable, debounce_ms, native, keymaps = {
-- accept, accept_word, accept_line, dismiss } } (keymaps are opt-in: none by default).
function M.configure(opts)
  M.dismiss()
  for _, lhs in ipairs(mapped) do
    pcall(vim.keymap.del, 'i', lhs)
  end
  mapped = {}
  M.config = vim.tbl_extend('force', vim.deepcopy(defaults), opts or {})
  for name, lhs in pairs(M.config.keymaps or {}) do
    if actions[name] and lhs then
      map(lhs, name, 'cartlsp: ' .. name:gsub('_', ' ') .. ' (ghost text)')
    end
  end
  M.set(M.config.enable)
end

return M
