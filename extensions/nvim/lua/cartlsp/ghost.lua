-- Ghost text: the server's inline completion (textDocument/inlineCompletion, the rest of
-- the block) shown after the cursor as you type. On Neovim 0.12+ it is Neovim's own
-- vim.lsp.inline_completion; before, extmarks drawn by this module (0.7+): the first line
-- as virtual text at the cursor, the others as virtual lines below it.
local client = require('cartlsp.client')

local M = {}

M.ns = vim.api.nvim_create_namespace('cartlsp_ghost')
M.config = { enable = false, debounce_ms = 150, keymaps = nil }

local native = vim.lsp.inline_completion ~= nil and vim.fn.has('nvim-0.12') == 1
local inline_pos = vim.fn.has('nvim-0.10') == 1 -- virt_text_pos = 'inline'

-- The suggestion on screen: buffer, cursor (0-based row, byte col), the text from the cursor.
local shown = nil
local timer = nil
local pending = nil -- { client, id } of the request in flight

-- uses_native reports whether Neovim's own inline completion shows the ghost text.
function M.uses_native()
  return native
end

local function stop_timer()
  if timer then
    timer:stop()
    timer:close()
    timer = nil
  end
end

local function cancel_pending()
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

-- visible reports whether ghost text shows at the cursor of the current buffer.
function M.visible()
  if native then
    return vim.lsp.inline_completion.get ~= nil and shown ~= nil
  end
  if not shown or shown.bufnr ~= vim.api.nvim_get_current_buf() then
    return false
  end
  local cur = vim.api.nvim_win_get_cursor(0)
  return cur[1] - 1 == shown.row and cur[2] == shown.col and shown.text ~= ''
end

-- text is the ghost text (from the cursor on), or nil.
function M.text()
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
  local opts = { virt_text = { { lines[1], 'Comment' } }, hl_mode = 'combine' }
  if inline_pos then
    opts.virt_text_pos = 'inline'
  elseif s.col >= #line then
    opts.virt_text_pos = 'eol'
  else
    opts.virt_text_pos = 'overlay'
  end
  if #lines > 1 then
    local virt = {}
    for i = 2, #lines do
      table.insert(virt, { { lines[i], 'Comment' } })
    end
    opts.virt_lines = virt
  end
  if lines[1] == '' then
    opts.virt_text = nil
    opts.virt_text_pos = nil
  end
  vim.api.nvim_buf_set_extmark(s.bufnr, M.ns, s.row, math.min(s.col, #line), opts)
end

-- show puts text (from the cursor on) as ghost text at the cursor of bufnr.
local function show(bufnr, row, col, text)
  M.clear()
  shown = { bufnr = bufnr, row = row, col = col, text = text }
  render()
end

-- item_text is the part of an inline completion item to show from the cursor: its text
-- without what the buffer already holds between the item's range start and the cursor.
local function item_text(item, line, col, encoding)
  local text = item.insertText
  if type(text) == 'table' then
    text = text.value
  end
  if type(text) ~= 'string' or text == '' then
    return nil
  end
  if item.range and item.range.start then
    local ok, start = pcall(vim.lsp.util._str_byteindex_enc or function(l, c)
      return vim.str_byteindex(l, c, true)
    end, line, item.range.start.character, encoding)
    start = ok and start or col
    local typed = line:sub(start + 1, col)
    if typed ~= '' and text:sub(1, #typed) == typed then
      text = text:sub(#typed + 1)
    elseif typed ~= '' and vim.trim(typed) == '' then
      -- The item replaces white space before the cursor: show it as it reads after it.
      text = text:gsub('^[ \t]*', '')
    end
  end
  return text
end

-- request asks the server for an inline completion at the cursor of the current window,
-- invoked (kind 1, from a key or command) or automatic (kind 2, as you type); done(text or
-- nil) is called when the answer is shown (for tests).
function M.request(kind, done)
  local bufnr = vim.api.nvim_get_current_buf()
  local c = client.get(bufnr)
  if not c then
    if done then
      done(nil)
    end
    return
  end
  cancel_pending()
  local cur = vim.api.nvim_win_get_cursor(0)
  local row, col = cur[1] - 1, cur[2]
  local params = vim.lsp.util.make_position_params(0, c.offset_encoding)
  params.context = { triggerKind = kind or 1 }
  local ok, id = client.call(c, 'request', 'textDocument/inlineCompletion', params, function(err, result)
    pending = nil
    local now = vim.api.nvim_win_get_cursor(0)
    if err or not result or vim.api.nvim_get_current_buf() ~= bufnr or now[1] - 1 ~= row or now[2] ~= col then
      if done then
        done(nil)
      end
      return
    end
    local items = result.items or result
    local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
    local text = items[1] and item_text(items[1], line, col, c.offset_encoding)
    if text and text ~= '' then
      show(bufnr, row, col, text)
    else
      M.clear()
    end
    if done then
      done(text)
    end
  end, bufnr)
  if ok then
    pending = { client = c, id = id }
  end
end

-- insert puts s at the cursor and moves the cursor after it; the ghost text left is what
-- follows s in it.
local function insert(s)
  local st = shown
  local rest = st.text:sub(#s + 1)
  local lines = vim.split(s, '\n', { plain = true })
  vim.api.nvim_buf_set_text(st.bufnr, st.row, st.col, st.row, st.col, lines)
  local row = st.row + #lines - 1
  local col = #lines == 1 and st.col + #s or #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { row + 1, col })
  if rest ~= '' then
    show(st.bufnr, row, col, rest)
  else
    M.clear()
  end
end

-- accept inserts all of the ghost text.
function M.accept()
  if native then
    return vim.lsp.inline_completion.get()
  end
  if M.visible() then
    insert(shown.text)
    return true
  end
  return false
end

-- accept_word inserts the ghost text up to the end of its next word (white space before it
-- included), or its next run of other characters.
function M.accept_word()
  if not M.visible() then
    return false
  end
  local t = shown.text
  local w = t:match('^%s*[%w_]+') or t:match('^%s*[^%w_%s]+') or t
  insert(w)
  return true
end

-- accept_line inserts the rest of the ghost text's first line (or, at its end, the next line).
function M.accept_line()
  if not M.visible() then
    return false
  end
  local t = shown.text
  local nl = t:find('\n', 1, true)
  local l = nl and t:sub(1, nl - 1) or t
  if l == '' and nl then
    local nl2 = t:find('\n', nl + 1, true)
    l = nl2 and t:sub(1, nl2 - 1) or t
  end
  insert(l)
  return true
end

-- dismiss hides the ghost text until the next keystroke.
function M.dismiss()
  cancel_pending()
  M.clear()
end

local function schedule_request()
  stop_timer()
  M.clear()
  timer = vim.loop.new_timer()
  timer:start(M.config.debounce_ms, 0, vim.schedule_wrap(function()
    stop_timer()
    if vim.fn.mode():sub(1, 1) == 'i' then
      M.request(2)
    end
  end))
end

-- map sets an insert-mode key that runs fn when ghost text shows, and is the key itself
-- otherwise.
local function map(key, fn, desc)
  vim.keymap.set('i', key, function()
    if M.visible() or (native and key == M.config.keymaps.accept) then
      vim.schedule(fn)
      return ''
    end
    return key
  end, { expr = true, silent = true, desc = desc })
end

-- enabled is whether the ghost text runs (setup's ghost.enable, :CartGhost).
function M.enabled()
  return M.config.enable
end

-- set turns the ghost text on or off for every buffer.
function M.set(on)
  M.config.enable = on
  local group = vim.api.nvim_create_augroup('cartlsp_ghost', { clear = true })
  M.dismiss()
  stop_timer()
  if native then
    pcall(vim.lsp.inline_completion.enable, on)
    return
  end
  if not on then
    return
  end
  vim.api.nvim_create_autocmd('TextChangedI', { group = group, callback = schedule_request })
  vim.api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, { group = group, callback = M.dismiss })
  vim.api.nvim_create_autocmd('CursorMovedI', {
    group = group,
    callback = function()
      if shown and not M.visible() then
        M.clear()
      end
    end,
  })
end

-- configure applies setup's ghost options: { enable, debounce_ms, keymaps = { accept,
-- accept_word, accept_line, dismiss } } (keymaps are opt-in: none by default).
function M.configure(opts)
  M.config = vim.tbl_extend('force', { enable = false, debounce_ms = 150, keymaps = nil }, opts or {})
  local k = M.config.keymaps
  if k then
    if k.accept then
      map(k.accept, M.accept, 'cartlsp: accept the ghost text')
    end
    if k.accept_word then
      map(k.accept_word, M.accept_word, 'cartlsp: accept a word of the ghost text')
    end
    if k.accept_line then
      map(k.accept_line, M.accept_line, 'cartlsp: accept a line of the ghost text')
    end
    if k.dismiss then
      map(k.dismiss, M.dismiss, 'cartlsp: dismiss the ghost text')
    end
  end
  M.set(M.config.enable)
end

return M
