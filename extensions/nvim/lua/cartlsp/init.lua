-- cartlsp for Neovim: starts `cartlsp serve` (the protocol is docs/LSP.md in the cartlsp
-- repository) for the buffers of each project root and adds :CartAsk, :CartAskSelection,
-- :CartTrain, :CartPullDeps, :CartStatus, :CartRestart, :CartStop, :CartLog, :CartGhost,
-- ghost-text completions and a statusline component. Works on Neovim 0.7 and later.
local ask = require('cartlsp.ask')
local client = require('cartlsp.client')
local ghost = require('cartlsp.ghost')
local status = require('cartlsp.status')

local M = {}

M.ask = ask.ask
-- ghost text: require('cartlsp').ghost.accept(), accept_word(), accept_line(), dismiss(),
-- request(), visible(), set(on).
M.ghost = ghost

-- execute runs a `workspace/executeCommand` (cartlsp.ask, cartlsp.train, cartlsp.status)
-- for the current buffer's server; callback(err, result), err being a string.
function M.execute(command, arguments, callback)
  local bufnr = vim.api.nvim_get_current_buf()
  local c, why = client.get(bufnr)
  if not c then
    return callback('no server for this buffer: ' .. why)
  end
  local ok = client.call(c, 'request', 'workspace/executeCommand', {
    command = command,
    arguments = arguments,
  }, function(err, result)
    if err then
      callback(err.message or vim.inspect(err))
    else
      if command == 'cartlsp.status' and type(result) == 'table' then
        status.update(c.id, result)
      end
      callback(nil, result)
    end
  end, bufnr)
  if not ok then
    callback('cannot run ' .. command .. ': the server is not running')
  end
end

-- statusline returns e.g. "cart: training 42%" for the current buffer's server, from the
-- latest cartridge/status (no RPC), or '' when the buffer has none.
function M.statusline()
  return status.format(status.get(client.id_for_buf(vim.api.nvim_get_current_buf())))
end

local function show(err, message)
  if err then
    vim.notify('cartlsp: ' .. err, vim.log.levels.ERROR)
  else
    vim.notify('cartlsp: ' .. tostring(message), vim.log.levels.INFO)
  end
end

-- with_question calls fn with the question: the command's arguments, else asked for.
local function with_question(question, prompt, fn)
  if question ~= '' then
    return fn(question)
  end
  vim.ui.input({ prompt = prompt }, function(answer)
    if answer and answer ~= '' then
      fn(answer)
    end
  end)
end

local function create_commands()
  local command = vim.api.nvim_create_user_command
  command('CartAsk', function(o)
    with_question(o.args, 'Ask cartlsp: ', function(q)
      ask.ask({ question = q })
    end)
  end, { nargs = '*', desc = 'Ask cartlsp a question about the repository' })
  command('CartAskSelection', function(o)
    local bufnr = vim.api.nvim_get_current_buf()
    local range = ask.selection_range(bufnr, o.line1, o.line2)
    with_question(o.args, 'Ask cartlsp about the selection: ', function(q)
      ask.ask({ question = q, bufnr = bufnr, range = range })
    end)
  end, { nargs = '*', range = true, desc = 'Ask cartlsp a question about the selected lines' })
  command('CartTrain', function()
    M.execute('cartlsp.train', nil, function(err, result)
      show(err, result and result.message)
    end)
  end, { desc = "Train the Cartridge for the repository's HEAD now" })
  command('CartPullDeps', function()
    M.execute('cartlsp.pullDependencies', nil, function(err, result)
      show(err, result and result.message)
    end)
  end, { desc = "Fetch the dependency Cartridges of settings.dependencies from settings.registry" })
  command('CartRestart', function()
    local id, why = client.restart(vim.api.nvim_get_current_buf())
    show(not id and ('the server did not start: ' .. tostring(why)) or nil, 'restarted the server')
  end, { desc = "Restart the current repository's cartlsp server" })
  command('CartStop', function()
    local stopped = client.stop(vim.api.nvim_get_current_buf())
    show(not stopped and 'no server runs for this buffer' or nil, 'stopped the server (:CartRestart starts it again)')
  end, { desc = "Stop the current repository's cartlsp server (until :CartRestart)" })
  command('CartLog', function()
    vim.cmd('tabnew ' .. vim.fn.fnameescape(client.log_file()))
  end, { desc = "Open Neovim's LSP log, where the server's log goes" })
  command('CartGhost', function(o)
    local arg = o.args ~= '' and o.args or 'toggle'
    local on = ({ on = true, off = false, toggle = not ghost.enabled() })[arg]
    if on == nil then
      return show(':CartGhost on|off|toggle, not ' .. arg)
    end
    ghost.set(on)
    show(nil, 'ghost text ' .. (on and 'on' or 'off'))
  end, {
    nargs = '?',
    complete = function()
      return { 'on', 'off', 'toggle' }
    end,
    desc = 'Turn the ghost-text completions on or off',
  })
  command('CartStatus', function()
    M.execute('cartlsp.status', nil, function(err, result)
      show(err, result and (result.message or result.state))
    end)
  end, { desc = "Show cartlsp's state" })
end

-- setup configures the plugin (again: running servers get changed settings through
-- workspace/didChangeConfiguration). Options: cmd, settings, filetypes, root_markers,
-- on_status(status, client_id), on_attach(client, bufnr), autostart (default true; false:
-- start no server, serve the buffers vim.lsp.enable('cartlsp') attaches), ghost = { enable,
-- debounce_ms, native, keymaps = { accept, accept_word, accept_line, dismiss } } (off, and
-- no keys, by default).
function M.setup(opts)
  opts = opts or {}
  local ghost_opts = opts.ghost
  opts = vim.tbl_extend('force', {}, opts)
  opts.ghost = nil
  client.configure(opts)
  ghost.configure(ghost_opts)
  create_commands()
  local group = vim.api.nvim_create_augroup('cartlsp', { clear = true })
  vim.api.nvim_create_autocmd({ 'BufEnter', 'FileType' }, {
    group = group,
    callback = function(args)
      client.attach(args.buf)
    end,
  })
  if vim.fn.has('nvim-0.8') == 1 then
    -- A cartlsp client that someone else attached (vim.lsp.enable with a config of its own).
    vim.api.nvim_create_autocmd('LspAttach', {
      group = group,
      callback = function(args)
        local c = args.data and vim.lsp.get_client_by_id(args.data.client_id)
        if c and c.name == 'cartlsp' then
          client.register(c, args.buf)
        end
      end,
    })
  end
  -- setup may run after buffers were opened (lazy loading): attach the current one now.
  client.attach(vim.api.nvim_get_current_buf())
end

return M
