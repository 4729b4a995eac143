-- One `cartlsp serve` per project root: starts it, attaches the root's buffers,
-- and hides the API differences between Neovim 0.7 and newer versions.
local progress = require('cartlsp.progress')
local status = require('cartlsp.status')

local M = {}

local defaults = {
  cmd = { 'cartlsp', 'serve' },
  settings = {},
  filetypes = nil, -- nil: every file under a root
  root_markers = { '.git' },
  on_status = nil,
  on_attach = nil,
}
M.config = vim.deepcopy(defaults)

local by_root = {} -- root directory -> client id
local by_buf = {} -- buffer -> client id, so that the statusline needs no lookup
local last_id -- the latest attached client: serves buffers outside any root
local warned = {} -- messages already shown once

-- Neovim 0.11 turned the client's functions into methods (client:request).
local methods = vim.fn.has('nvim-0.11') == 1

-- call invokes a client function the way this Neovim expects.
function M.call(client, name, ...)
  if methods then
    return client[name](client, ...)
  end
  return client[name](...)
end

local function warn_once(msg)
  if not warned[msg] then
    warned[msg] = true
    vim.notify('cartlsp: ' .. msg, vim.log.levels.WARN)
  end
end

local function missing_server(exe)
  return string.format(
    '`%s` is not executable. Build the server in the cartlsp repository '
      .. '(`make build` writes bin/cartlsp, or `go install ./cmd/cartlsp`) and put it on $PATH, '
      .. "or point the plugin at it: require('cartlsp').setup{cmd = {'/path/to/cartlsp', 'serve'}}",
    exe
  )
end

local function find_root(path)
  local dir = vim.fn.fnamemodify(path, ':p:h')
  while true do
    for _, marker in ipairs(M.config.root_markers) do
      if vim.loop.fs_stat(dir .. '/' .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      return nil
    end
    dir = parent
  end
end

-- alive returns the client of id while its server runs.
local function alive(id)
  local client = id and vim.lsp.get_client_by_id(id)
  if client and not M.call(client, 'is_stopped') then
    return client
  end
end

-- settings encodes as a JSON object even when empty (Lua's {} would be `[]`).
local function settings()
  return next(M.config.settings) and M.config.settings or vim.empty_dict()
end

local function client_config(root)
  return {
    name = 'cartlsp',
    cmd = M.config.cmd,
    root_dir = root,
    init_options = settings(),
    handlers = {
      ['$/progress'] = progress.handler,
      ['cartridge/status'] = function(_, result, ctx)
        status.update(ctx.client_id, result)
      end,
    },
    on_attach = M.config.on_attach,
    on_exit = function(code, signal, client_id)
      -- Neovim 0.7 runs on_exit inside the event loop's callback, where the API is off limits.
      vim.schedule(function()
        if by_root[root] == client_id then
          by_root[root] = nil
        end
        -- `exited` is the plugin's own state: the server can no longer say anything.
        status.update(client_id, { state = 'exited', exitCode = code, signal = signal })
        if code ~= 0 then
          vim.notify(
            string.format('cartlsp: the server exited with code %d; its stderr is in %s', code, require('vim.lsp.log').get_filename()),
            vim.log.levels.ERROR
          )
        end
      end)
    end,
  }
end

-- attach connects a buffer to its root's server, starting the server when needed.
-- It returns the client id, or nil and the reason.
function M.attach(bufnr)
  if vim.bo[bufnr].buftype ~= '' then
    return nil, 'not a file buffer'
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' then
    return nil, 'the buffer has no file'
  end
  local filetypes = M.config.filetypes
  if filetypes and not vim.tbl_contains(filetypes, vim.bo[bufnr].filetype) then
    return nil, 'its filetype is not in filetypes'
  end
  local root = find_root(name)
  if not root then
    return nil, string.format('no %s above %s', table.concat(M.config.root_markers, ' or '), name)
  end
  local exe = M.config.cmd[1]
  if vim.fn.executable(exe) ~= 1 then
    local msg = missing_server(exe)
    warn_once(msg)
    return nil, msg
  end
  local id
  if vim.lsp.start then
    -- 0.8+: reuses the client with the same name and root_dir, and attaches.
    id = vim.lsp.start(client_config(root), { bufnr = bufnr })
  else
    local client = alive(by_root[root])
    id = client and client.id or vim.lsp.start_client(client_config(root))
    if id and not vim.lsp.buf_is_attached(bufnr, id) then
      vim.lsp.buf_attach_client(bufnr, id)
    end
  end
  if not id then
    return nil, 'the server did not start (see :messages)'
  end
  by_root[root], by_buf[bufnr], last_id = id, id, id
  return id
end

-- id_for_buf is the buffer's client id without starting anything (for the statusline).
function M.id_for_buf(bufnr)
  return by_buf[bufnr]
end

-- get returns an initialized client for the buffer (its root's, else the latest one),
-- or nil and the reason.
function M.get(bufnr)
  local client = alive(by_buf[bufnr])
  local why
  if not client then
    local id
    id, why = M.attach(bufnr)
    client = alive(id) or alive(last_id)
  end
  if not client then
    return nil, why or 'the server is not running'
  end
  -- A request sent before initialize is answered would break the protocol.
  if not client.initialized and not vim.wait(10000, function()
    return client.initialized
  end, 20) then
    return nil, 'the server did not answer initialize'
  end
  return client
end

-- stop stops the server of the buffer's root (and forgets it); it returns the stopped
-- client's id, or nil when none ran.
function M.stop(bufnr)
  local id = by_buf[bufnr] or last_id
  local c = alive(id)
  if not c then
    return nil
  end
  for root, rid in pairs(by_root) do
    if rid == id then
      by_root[root] = nil
    end
  end
  for b, bid in pairs(by_buf) do
    if bid == id then
      by_buf[b] = nil
    end
  end
  M.call(c, 'stop')
  return id
end

-- restart stops the buffer's server, waits for it to exit, and starts a new one for the
-- buffer; it returns the new client id, or nil and the reason.
function M.restart(bufnr)
  local id = M.stop(bufnr)
  if id then
    vim.wait(10000, function()
      local c = vim.lsp.get_client_by_id(id)
      return c == nil or M.call(c, 'is_stopped')
    end, 50)
  end
  return M.attach(bufnr)
end

-- log_file is Neovim's LSP log, where the server's stderr (its log) goes.
function M.log_file()
  return require('vim.lsp.log').get_filename()
end

-- configure replaces the configuration; running servers get the new settings.
function M.configure(opts)
  local old = M.config.settings
  M.config = vim.tbl_extend('force', vim.deepcopy(defaults), opts)
  -- A copy, so that a caller who edits its table and calls setup again is seen to change it.
  M.config.settings = vim.deepcopy(M.config.settings)
  status.set_callback(M.config.on_status)
  if not vim.deep_equal(old, M.config.settings) then
    for _, id in pairs(by_root) do
      local client = alive(id)
      if client then
        M.call(client, 'notify', 'workspace/didChangeConfiguration', { settings = settings() })
      end
    end
  end
end

return M
