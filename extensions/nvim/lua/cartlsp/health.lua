-- :checkhealth cartlsp — the server binary, the model, the store, git and Neovim.
local M = {}

-- vim.health.start/ok/warn/error/info on 0.10+; its report_* on 0.8–0.9, require('health')'s
-- on 0.7.
local function reporter(name)
  local h = vim.health or {}
  local fn = h[name] or h['report_' .. name]
  if fn then
    return fn
  end
  return function(...)
    return require('health')['report_' .. name](...)
  end
end
local start, ok, warn, err, info =
  reporter('start'), reporter('ok'), reporter('warn'), reporter('error'), reporter('info')

-- run returns the trimmed output of a command and whether it exited 0.
local function run(cmd)
  local out = vim.fn.system(cmd)
  return vim.trim(out or ''), vim.v.shell_error == 0
end

function M.check()
  local config = require('cartlsp.client').config
  -- The binary: cmd[1], or the word of cmd that names cartlsp when cmd wraps it (sh -c …).
  local exe = config.cmd[1]
  for _, word in ipairs(config.cmd) do
    if vim.fn.fnamemodify(word, ':t'):match('^cartlsp') then
      exe = word
      break
    end
  end
  start('cartlsp: the server')
  if vim.fn.executable(exe) ~= 1 then
    err(string.format('`%s` is not executable', exe), {
      'Build it in the cartlsp repository: `make build` writes bin/cartlsp (or `go install ./cmd/cartlsp`)',
      "Put it on $PATH, or point the plugin at it: require('cartlsp').setup{ cmd = { '/path/to/cartlsp', 'serve' } }",
    })
    return
  end
  local path = vim.fn.exepath(exe)
  local version, vok = run({ exe, 'version' })
  if vok then
    ok(string.format('%s: %s', path, version:gsub('\n', '; ')))
  else
    warn(string.format('%s does not answer `version` (%s): is it cartlsp?', path, version))
  end

  start('cartlsp: the model')
  local settings = config.settings or {}
  local model, from = settings.model, 'settings.model'
  if not model or model == '' then
    model, from = os.getenv('CARTLSP_MODEL'), '$CARTLSP_MODEL'
  end
  if not model or model == '' then
    local out, mok = run({ exe, 'model', 'path' })
    model, from = mok and out or '', 'the default model'
  end
  if model ~= '' and not model:find('/') and not model:find('%.gguf$') then
    -- A name from the catalog (cartlsp model ls): where the cache keeps it.
    local path, pok = run({ exe, 'model', 'path', model })
    if pok and vim.fn.filereadable(path) == 1 then
      ok(string.format('%s: %s (%s)', from, model, path))
    else
      err(string.format('%s names the model %s, which is not pulled: %s', from, model, path),
        { string.format('Fetch it once with `cartlsp model pull %s`', model) })
    end
  elseif model ~= '' and vim.fn.filereadable(vim.fn.expand(model)) == 1 then
    ok(string.format('%s: %s', from, model))
  else
    err(string.format('%s is not there: %s', from, model ~= '' and model or '(none)'),
      { 'Fetch it once with `cartlsp model pull` (Qwen2.5-Coder-0.5B-Instruct, 470 MiB), or point settings.model / $CARTLSP_MODEL at a GGUF file' })
  end

  start('cartlsp: the store')
  local store = settings.store and settings.store ~= '' and { '--store', vim.fn.expand(settings.store) } or {}
  local ls, lok = run(vim.list_extend({ exe, 'store', 'ls' }, store))
  if lok then
    -- Its last line says how many entries, and where ("the store is empty (DIR)" when none).
    local lines = vim.split(ls, '\n')
    ok('`cartlsp store ls`: ' .. (lines[#lines] or ''))
  else
    warn('`cartlsp store ls` failed: ' .. ls, { 'Check $CARTLSP_STORE (cartlsp env lists what the server reads)' })
  end
  local name = vim.api.nvim_buf_get_name(0)
  local dir = name ~= '' and vim.fn.fnamemodify(name, ':p:h') or vim.fn.getcwd()
  if vim.fn.isdirectory(dir) == 1 then
    local args = vim.list_extend({ exe, 'store', 'path', '--repo', dir, '--budget', settings.budget or 'small' }, store)
    if settings.model and settings.model ~= '' then
      vim.list_extend(args, { '--model', settings.model })
    end
    local path, pok = run(args)
    if pok then
      ok("HEAD's Cartridge of " .. dir .. ': ' .. path)
    else
      info((path:gsub('^cartlsp store: ', '')))
    end
  end

  start('cartlsp: git')
  if vim.fn.executable('git') == 1 then
    ok('git: ' .. run({ 'git', '--version' }))
  else
    warn('git is not on $PATH: the server reads repositories itself, but `cartlsp hook install` and your commits need git')
  end

  start('cartlsp: Neovim')
  local v = vim.version()
  local s = string.format('Neovim %d.%d.%d', v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.7') ~= 1 then
    warn(s .. ': the plugin needs 0.7 or later', { 'Upgrade Neovim' })
  else
    ok(s)
  end
  local ghost = require('cartlsp.ghost')
  if ghost.uses_native() then
    info("ghost text: Neovim's own vim.lsp.inline_completion (ghost.native = false: the plugin's extmarks)")
  elseif vim.lsp.inline_completion then
    info("ghost text: the plugin's extmarks (ghost.native = false)")
  else
    info("ghost text: the plugin's extmarks (vim.lsp.inline_completion needs Neovim 0.12)")
  end
  info('ghost text is ' .. (ghost.enabled() and 'on' or 'off') .. ' (setup{ ghost = { enable = true } }, :CartGhost)')
  if vim.fn.has('nvim-0.11') == 1 then
    local found = #vim.api.nvim_get_runtime_file('lsp/cartlsp.lua', true) > 0
    info("vim.lsp.enable('cartlsp') " .. (found and 'finds lsp/cartlsp.lua' or 'does not find lsp/cartlsp.lua on runtimepath')
      .. '; servers started ' .. (require('cartlsp.client').config.autostart == false and 'by it alone (setup autostart = false)' or 'by setup{} too'))
  end
end

return M
