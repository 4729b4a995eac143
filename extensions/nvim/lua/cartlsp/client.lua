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
  autostart = true, -- false: start no server (vim.lsp.enable('cartlsp') does), serve the buffers it attaches
}
M.config = vim.deepcopy(defaults)

local by_root = {} -- root directory -> client id
local by_buf = {} -- buffer -> client id, so that the statusline needs no lookup
local last_id -- the latest attached client: serves buffers outside any root
local owned = {} -- client id -> true for the servers this plugin started (not vim.lsp.enable's)
local stopped = {} -- root -> true after :CartStop, so that entering a buffer does not start it again
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

-- settings are the server's settings from setup{}, as a JSON object even when empty (Lua's {}
-- would be `[]`).
function M.settings()
  return next(M.config.settings) and M.config.settings or vim.empty_dict()
end
local settings = M.settings

-- exited is every cartlsp client's on_exit (this plugin's and lsp/cartlsp.lua's): it
-- forgets the client and records the plugin's own `exited` status.
function M.exited(code, signal, client_id)
  -- Neovim 0.7 runs on_exit inside the event loop's callback, where the API is off limits.
  vim.schedule(function()
    for root, id in pairs(by_root) do
      if id == client_id then
        by_root[root] = nil
      end
    end
    owned[client_id] = nil
    -- `exited` is the plugin's own state: the server can no longer say anything.
    status.update(client_id, { state = 'exited', exitCode = code, signal = signal })
    if code ~= 0 then
      vim.notify(
        string.format('cartlsp: the server exited with code %d; its stderr is in %s', code, M.log_file()),
        vim.log.levels.ERROR
      )
    end
  end)
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
    on_exit = M.exited,
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
  if stopped[root] then
    return nil, 'its server was stopped (:CartRestart starts it)'
  end
  if M.config.autostart == false then
    local c = M.attached(bufnr, true)
    if c then
      return M.register(c, bufnr)
    end
    return nil, "autostart is off and no cartlsp client is attached (vim.lsp.enable('cartlsp') starts one)"
  end
  local exe = M.config.cmd[1]
  if vim.fn.executable(exe) ~= 1 then
    local msg = missing_server(exe)
    warn_once(msg)
    return nil, msg
  end
  local id
  if vim.lsp.start then
    -- 0.8+: reuses the client with the same name and root_dir (this plugin's, or one that
    -- vim.lsp.enable started), and attaches.
    local before = {}
    for _, c in pairs(vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()) do
      before[c.id] = true
    end
    id = vim.lsp.start(client_config(root), { bufnr = bufnr })
    if id and not before[id] then
      owned[id] = true
    end
  else
    local client = alive(by_root[root])
    id = client and client.id
    if not id then
      id = vim.lsp.start_client(client_config(root))
      if id then
        owned[id] = true
      end
    end
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

-- register records a cartlsp client attached to a buffer by someone else (lsp/cartlsp.lua's
-- on_attach, for vim.lsp.enable), so that the commands and the statusline find it.
function M.register(c, bufnr)
  if c.config and c.config.root_dir then
    by_root[c.config.root_dir] = c.id
  end
  by_buf[bufnr], last_id = c.id, c.id
  return c.id
end

-- id_for_buf is the buffer's client id without starting anything (for the statusline).
function M.id_for_buf(bufnr)
  return by_buf[bufnr]
end

-- clients_of lists the running cartlsp clients attached to a buffer (whoever started them).
local function clients_of(bufnr)
  local list = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = bufnr, name = 'cartlsp' })
    or vim.lsp.buf_get_clients(bufnr)
  local out = {}
  for _, c in pairs(list) do
    if c.name == 'cartlsp' and not M.call(c, 'is_stopped') then
      table.insert(out, c)
    end
  end
  return out
end

-- attached returns the buffer's running cartlsp client, initialized unless any is true,
-- without starting anything or waiting (for the ghost text, as you type).
function M.attached(bufnr, any)
  local c = alive(by_buf[bufnr])
  if not c or not vim.lsp.buf_is_attached(bufnr, c.id) then
    c = clients_of(bufnr)[1]
  end
  if c and (any or c.initialized) then
    return c
  end
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

-- stop stops the server of the buffer (its root's), and keeps it stopped: entering a
-- buffer of that root starts none until restart. It returns the stopped client, or nil
-- when none ran.
function M.stop(bufnr)
  local c = M.attached(bufnr, true)
  if not c then
    local name = vim.api.nvim_buf_get_name(bufnr)
    local root = name ~= '' and find_root(name)
    c = root and alive(by_root[root])
  end
  if not c then
    return nil
  end
  for root, id in pairs(by_root) do
    if id == c.id then
      by_root[root], stopped[root] = nil, true
    end
  end
  if c.config and c.config.root_dir then
    stopped[c.config.root_dir] = true
  end
  -- by_buf keeps the stopped client: the statusline says `cart: exited`.
  M.call(c, 'stop')
  return c
end

-- restart stops the buffer's server, waits (up to 10 s, then kills it) for it to exit,
-- and starts a new one for the buffers it served (this plugin's way, or again from the
-- client's own configuration for vim.lsp.enable's); it returns the new client id for
-- bufnr, or nil and the reason.
function M.restart(bufnr)
  local old = M.stop(bufnr)
  local bufs = { bufnr }
  if old then
    local was_owned = owned[old.id]
    for b in pairs(old.attached_buffers or {}) do
      if b ~= bufnr then
        table.insert(bufs, b)
      end
    end
    local function gone()
      local c = vim.lsp.get_client_by_id(old.id)
      return c == nil or M.call(c, 'is_stopped')
    end
    if not vim.wait(10000, gone, 50) then
      M.call(old, 'stop', true)
      vim.wait(2000, gone, 50)
    end
    if old.config and old.config.root_dir then
      stopped[old.config.root_dir] = nil
    end
    if not was_owned and vim.lsp.start and old.config then
      local id
      for _, b in ipairs(bufs) do
        if vim.api.nvim_buf_is_valid(b) then
          local bid = vim.lsp.start(old.config, { bufnr = b })
          by_buf[b] = bid
          id = b == bufnr and bid or id
        end
      end
      if id then
        last_id = id
        return id
      end
      return nil, 'the server did not start (see :messages)'
    end
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  local root = name ~= '' and find_root(name)
  if root then
    stopped[root] = nil
  end
  local id, why = M.attach(bufnr)
  for i = 2, #bufs do
    if vim.api.nvim_buf_is_valid(bufs[i]) then
      M.attach(bufs[i])
    end
  end
  return id, why
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
