-- The floating Markdown window an answer streams into: the question, the answer so
-- far, then a footer with the source and timings (or the error).
local M = {}

local View = {}
View.__index = View

-- open creates and enters the window; on_close (set by the caller) runs once
-- when it goes away, however it is closed.
function M.open(question)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].filetype = 'markdown'
  local width = math.max(20, math.min(90, vim.o.columns - 6))
  local max_height = math.max(3, math.floor(vim.o.lines * 0.6))
  local win = vim.api.nvim_open_win(buf, true, {
    relative = 'editor',
    width = width,
    height = 3,
    row = math.max(0, math.floor((vim.o.lines - max_height) / 2) - 1),
    col = math.floor((vim.o.columns - width) / 2),
    style = 'minimal',
    border = 'rounded',
  })
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  local self = setmetatable({
    buf = buf,
    win = win,
    width = width,
    max_height = max_height,
    question = question:gsub('%s*\n%s*', ' '),
    text = '',
    footer = nil,
    closed = false,
  }, View)
  for _, lhs in ipairs({ 'q', '<Esc>' }) do
    vim.keymap.set('n', lhs, function()
      self:close()
    end, { buffer = buf, nowait = true, desc = 'close the cartlsp answer' })
  end
  -- BufWipeout covers q, <Esc>, :q and :bwipe alike (bufhidden=wipe).
  vim.api.nvim_create_autocmd('BufWipeout', {
    buffer = buf,
    once = true,
    callback = function()
      self.closed = true
      if self.on_close then
        self.on_close()
      end
    end,
  })
  self:render()
  return self
end

function View:close()
  if not self.closed and vim.api.nvim_win_is_valid(self.win) then
    vim.api.nvim_win_close(self.win, true)
  end
end

function View:render()
  if self.closed then
    return
  end
  local lines = { '> ' .. self.question, '' }
  vim.list_extend(lines, vim.split(self.text ~= '' and self.text or '…', '\n', { plain = true }))
  if self.footer then
    table.insert(lines, '')
    vim.list_extend(lines, vim.split(self.footer, '\n', { plain = true }))
  end
  vim.bo[self.buf].modifiable = true
  vim.api.nvim_buf_set_lines(self.buf, 0, -1, false, lines)
  vim.bo[self.buf].modifiable = false
  if vim.api.nvim_win_is_valid(self.win) then
    -- Grow with the answer (counting wrapped lines) and follow its end.
    local height = 0
    for _, line in ipairs(lines) do
      height = height + math.max(1, math.ceil(vim.fn.strdisplaywidth(line) / self.width))
    end
    vim.api.nvim_win_set_height(self.win, math.min(height, self.max_height))
    vim.api.nvim_win_set_cursor(self.win, { #lines, 0 })
  end
end

function View:append(text)
  self.text = self.text .. text
  self:render()
end

local function describe(result)
  local source = result.source or 'unknown source'
  if source == 'cartridge' and type(result.commit) == 'string' then
    source = source .. ' @' .. result.commit:sub(1, 7)
  elseif source == 'none' then
    source = 'no context'
  end
  local deps = type(result.dependencies) == 'table' and result.dependencies or {}
  if #deps > 0 then
    -- Decoded after dependency Cartridges (alone, source "none", or before the repository's).
    source = (source == 'no context' and 'dependency Cartridges ' or source .. ' after ') .. table.concat(deps, ', ')
  end
  local refs = {}
  for _, r in ipairs(type(result.references) == 'table' and result.references or {}) do
    table.insert(refs, string.format('`%s` `%s:%d`', r.name, vim.fn.fnamemodify(vim.uri_to_fname(r.uri), ':t'), r.range.start.line + 1))
  end
  if result.note and result.note ~= '' then
    source = source .. ' (' .. result.note .. ')'
  end
  local parts = { source }
  local t = result.timings or {}
  if t.firstTokenMs then
    table.insert(parts, string.format('first token %.0f ms', t.firstTokenMs))
  end
  if t.totalMs then
    table.insert(parts, string.format('%.1f s', t.totalMs / 1000))
  end
  if t.generatedTokens then
    table.insert(parts, string.format('%d tokens', t.generatedTokens))
  end
  if result.stopReason and result.stopReason ~= 'eog' then
    table.insert(parts, 'stopped: ' .. result.stopReason)
  end
  local out = '*' .. table.concat(parts, ' · ') .. '*'
  if #refs > 0 then
    -- Before the footer line, which stays the window's last.
    out = 'draws on: ' .. table.concat(refs, ', ') .. '\n\n' .. out
  end
  return out
end

-- finish shows the final answer (authoritative over the streamed pieces) and its footer.
function View:finish(result)
  if result.answer and result.answer ~= '' then
    self.text = result.answer
  end
  self.footer = describe(result)
  self:render()
end

function View:fail(message)
  self.footer = '**cartlsp error:** ' .. message
  self:render()
end

return M
