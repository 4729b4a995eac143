-- Headless end-to-end check of the plugin against a real `cartlsp serve`, run by
-- nvim_e2e_test.go (`nvim --headless -u NONE -i NONE --cmd 'set rtp+=…' -c 'luafile …'`).
-- Every step's outcome goes to the JSON report at $CARTLSP_E2E_OUT, written after each
-- step, and the script always quits. It runs as a coroutine: pause() gives the main loop
-- back for a while, so that insert mode, typed keys and their autocommands happen as they
-- do for a user (the ghost text steps).
local out = os.getenv('CARTLSP_E2E_OUT')
local report = { steps = {}, statuses = {}, progress = {} }
local t0 = vim.loop.hrtime()

local function now_ms()
  return math.floor((vim.loop.hrtime() - t0) / 1e6)
end

local function write()
  local f = assert(io.open(out, 'w'))
  f:write(vim.json.encode(report))
  f:close()
end

-- step runs fn, which returns ok and a detail table or message, and records the outcome.
local function step(name, fn)
  local started = now_ms()
  local called, ok, detail = pcall(fn)
  if not called then
    ok, detail = false, 'error: ' .. tostring(ok)
  end
  table.insert(report.steps, {
    name = name,
    ok = ok and true or false,
    detail = detail,
    startMs = started,
    ms = now_ms() - started,
  })
  write()
  return ok
end

local co -- the coroutine main runs in

-- pause lets Neovim's main loop run for ms (typeahead, mode changes, timers), then goes on.
local function pause(ms)
  vim.defer_fn(function()
    local ok, err = coroutine.resume(co)
    if not ok then
      report.error = tostring(err)
      pcall(write)
      vim.cmd('qa!')
    end
  end, ms)
  coroutine.yield()
end

-- feed types keys (with <> notation) as the user would, mappings included.
local function feed(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), 'mt', false)
end

local function getenv(name)
  local v = os.getenv(name)
  assert(v and v ~= '', name .. ' is not set')
  return v
end

local function main()
  local bin, repo, file = getenv('CARTLSP_E2E_BIN'), getenv('CARTLSP_E2E_REPO'), getenv('CARTLSP_E2E_FILE')
  local server_log = getenv('CARTLSP_E2E_SERVER_LOG')
  local cartlsp = require('cartlsp')
  local cclient = require('cartlsp.client')

  -- The RPC traffic goes to lsp.log, which the Go test shows when a step fails.
  require('vim.lsp.log').set_level('debug')
  local statuses = {}
  local exits = {} -- client id -> its `exited` status
  -- Training's work-done progress must reach the global handler through the plugin's wrapper.
  local default_progress = vim.lsp.handlers['$/progress']
  vim.lsp.handlers['$/progress'] = function(err, result, ctx, config)
    local v = result and result.value or {}
    table.insert(report.progress, { ms = now_ms(), token = result and result.token, kind = v.kind, percentage = v.percentage })
    return default_progress(err, result, ctx, config)
  end

  -- Neovim's own $/progress handler announces what it saw: User LspProgressUpdate up to 0.9,
  -- LspProgress from 0.10 (an unknown event before, hence the pcall).
  local default_saw = 0
  local function count()
    default_saw = default_saw + 1
  end
  vim.api.nvim_create_autocmd('User', { pattern = 'LspProgressUpdate', callback = count })
  pcall(vim.api.nvim_create_autocmd, 'LspProgress', { callback = count })

  cartlsp.setup({
    -- sh keeps the server's stderr (its log) in a file the Go test shows on failure.
    cmd = { 'sh', '-c', 'exec "$0" serve --log-level debug 2>"$1"', bin, server_log },
    settings = { budget = 'tiny' },
    on_status = function(st, id)
      table.insert(statuses, st)
      if st.state == 'exited' then
        exits[id] = st
      end
      table.insert(report.statuses, { ms = now_ms(), state = st.state, percentage = st.percentage, message = st.message, exitCode = st.exitCode })
    end,
  })

  local function last_status(state)
    for i = #statuses, 1, -1 do
      if statuses[i].state == state then
        return statuses[i]
      end
    end
  end

  local buf, client
  local ok = step('initialize', function()
    vim.cmd('edit ' .. vim.fn.fnameescape(repo .. '/' .. file))
    buf = vim.api.nvim_get_current_buf()
    local attached = vim.wait(60000, function()
      local id = cclient.id_for_buf(buf)
      client = id and vim.lsp.get_client_by_id(id)
      return client ~= nil and client.initialized == true
    end, 50)
    if not attached then
      return false, 'no initialized cartlsp client attached to ' .. file .. ' within 60 s'
    end
    local caps = client.server_capabilities or {}
    local commands = caps.executeCommandProvider and caps.executeCommandProvider.commands or {}
    local detail = {
      completion = caps.completionProvider ~= nil,
      hover = caps.hoverProvider ~= nil,
      inlineCompletion = caps.inlineCompletionProvider ~= nil,
      commands = commands,
      attached = vim.lsp.buf_is_attached(buf, client.id),
    }
    local has_commands = vim.tbl_contains(commands, 'cartlsp.ask') and vim.tbl_contains(commands, 'cartlsp.train')
      and vim.tbl_contains(commands, 'cartlsp.status')
    return detail.attached and detail.completion and detail.hover and has_commands, detail
  end)
  if not ok then
    return
  end

  local function progress_seen()
    for _, p in ipairs(report.progress) do
      if p.percentage then
        return p
      end
    end
    return last_status('training')
  end
  step('training_progress', function()
    if not vim.wait(180000, function()
      return progress_seen() ~= nil or last_status('error') ~= nil
    end, 50) then
      return false, 'neither $/progress with a percentage nor cartridge/status "training" within 180 s'
    end
    local seen = progress_seen()
    if not seen then
      return false, last_status('error')
    end
    if seen.token then
      -- Work-done progress went through the plugin's wrapper: Neovim's handler must see it too.
      seen.defaultHandlerSaw = default_saw
      return default_saw > 0, seen
    end
    return true, seen
  end)

  step('trained', function()
    local deadline = 300000 -- since the script started: leaves the later steps time within the test's 8 min
    vim.wait(math.max(0, deadline - now_ms()), function()
      local st = statuses[#statuses]
      return st and (st.state == 'ready' and st.cartridgeCommit ~= nil or st.state == 'error')
    end, 50)
    local st = statuses[#statuses] or {}
    return st.state == 'ready' and st.cartridgeCommit ~= nil,
      { statusline = cartlsp.statusline(), state = st.state, message = st.message, error = st.error }
  end)

  step('status_command', function()
    local res, err
    cartlsp.execute('cartlsp.status', nil, function(e, r)
      err, res = e or false, r
    end)
    if not vim.wait(10000, function()
      return err ~= nil
    end, 20) then
      return false, 'no answer to cartlsp.status within 10 s'
    end
    return not err and type(res) == 'table' and res.state ~= nil, err or res
  end)

  step('ask', function()
    local s = cartlsp.ask({ question = 'What does the Greet function return?', bufnr = buf })
    if not s then
      return false, 'ask sent nothing'
    end
    vim.wait(90000, function()
      return s.done
    end, 50)
    local r = s.result or {}
    local lines = s.view.closed and {} or vim.api.nvim_buf_get_lines(s.view.buf, 0, -1, false)
    local detail = {
      done = s.done,
      err = s.err,
      pieces = s.pieces,
      answer = r.answer,
      source = r.source,
      commit = r.commit,
      note = r.note,
      stopReason = r.stopReason,
      timings = r.timings,
      footer = lines[#lines],
    }
    s.view:close()
    -- The answer's pieces are the plugin's: none may reach the global $/progress handler.
    detail.leaked = 0
    for _, p in ipairs(report.progress) do
      if type(p.token) == 'string' and p.token:find('^cartlsp%-ask') then
        detail.leaked = detail.leaked + 1
      end
    end
    local answered = s.done and not s.err and type(r.answer) == 'string' and r.answer ~= ''
    return answered and s.pieces > 0 and detail.leaked == 0, detail
  end)

  step('ask_selection', function()
    -- Through the command itself: lines 6-9 of greet.go are Greet's comment and body.
    vim.cmd('6,9CartAskSelection What does this code do?')
    local win = vim.api.nvim_get_current_win()
    local abuf = vim.api.nvim_win_get_buf(win)
    if abuf == buf then
      return false, 'no answer window opened'
    end
    local function lines()
      return vim.api.nvim_buf_get_lines(abuf, 0, -1, false)
    end
    -- The window is done when its last line is the footer (with the timings) or the error.
    local function footer(line)
      return line:find('^%*') and (line:find('first token', 1, true) or line:find('cartlsp error', 1, true))
    end
    local done = vim.wait(90000, function()
      local l = lines()
      return footer(l[#l]) ~= nil
    end, 50)
    local l = lines()
    vim.api.nvim_win_close(win, true)
    local failed = l[#l]:find('cartlsp error', 1, true) ~= nil
    return done and not failed and #l > 4, { lines = l }
  end)

  step('completion', function()
    -- A new function whose body the model should go on with; the edit also exercises didChange.
    local n = vim.api.nvim_buf_line_count(buf)
    local prefix = '\treturn strings.ToUpper(Gre'
    vim.api.nvim_buf_set_lines(buf, n, n, false, { '', 'func Shout(name string) string {', prefix })
    local res, why = vim.lsp.buf_request_sync(buf, 'textDocument/completion', {
      textDocument = { uri = vim.uri_from_bufnr(buf) },
      position = { line = n + 2, character = #prefix },
    }, 30000)
    if not res then
      return false, 'no completion answer within 30 s: ' .. tostring(why)
    end
    local r = res[client.id] or {}
    if r.error or r.err then
      return false, r.error or r.err
    end
    local items = r.result and (r.result.items or r.result) or {}
    local first = items[1] or {}
    return #items > 0, {
      count = #items,
      label = first.label,
      newText = first.textEdit and first.textEdit.newText or first.insertText,
    }
  end)

  step('ghost_text', function()
    -- In insert mode at the end of `\treturn ` in a new function body (the item's range takes
    -- that space), asked through the plugin's function; then the mapped keys accept a word
    -- and the rest, with the main loop running between keys (their autocommands must keep
    -- what is left of the ghost text).
    local ghost = cartlsp.ghost
    ghost.configure({ enable = true, keymaps = { accept = '<Tab>', accept_word = '<M-Right>' } })
    local n = vim.api.nvim_buf_line_count(buf)
    local before = '\treturn '
    vim.api.nvim_buf_set_lines(buf, n, n, false, { '}', '', 'func Whisper(name string) string {', before })
    local row = n + 4
    vim.api.nvim_win_set_cursor(0, { row, 0 })
    vim.cmd('startinsert!')
    pause(30)
    local detail = { mode = vim.api.nvim_get_mode().mode, cursor = vim.api.nvim_win_get_cursor(0), tries = 0 }
    if detail.mode ~= 'i' then
      return false, detail
    end
    local got
    for _ = 1, 3 do -- an answer may be empty: ask again
      detail.tries = detail.tries + 1
      local answered = false
      ghost.request(1, function(text)
        got, answered = text, true
      end)
      vim.wait(30000, function()
        return answered
      end, 20)
      if got then
        break
      end
    end
    local marks = vim.api.nvim_buf_get_extmarks(buf, ghost.ns, 0, -1, { details = true })
    local d = marks[1] and marks[1][4] or {}
    detail.text, detail.marks = got, #marks
    detail.virtText = d.virt_text and d.virt_text[1] and d.virt_text[1][1]
    detail.virtLines = d.virt_lines and #d.virt_lines or 0
    detail.pos = d.virt_text_pos
    if not got or #marks ~= 1 or not ghost.visible() or (detail.virtText or '') .. (detail.virtLines > 0 and 'x' or '') == '' then
      return false, detail
    end
    -- <M-Right>: the next word; the rest stays shown.
    local word = got:match('^%s*[%w_\128-\255]+') or got:match('^%s*[^%w_%s\128-\255]+') or got
    feed('<M-Right>')
    pause(50)
    local lines = vim.api.nvim_buf_get_lines(buf, row - 1, -1, false)
    detail.afterWord = lines
    detail.restAfterWord = ghost.text()
    local rest = got:sub(#word + 1)
    if table.concat(lines, '\n') ~= before .. word or (vim.trim(rest) ~= '' and ghost.text() ~= rest) then
      return false, detail
    end
    -- <Tab>: all that is left.
    if vim.trim(rest) ~= '' then
      feed('<Tab>')
      pause(50)
    end
    lines = vim.api.nvim_buf_get_lines(buf, row - 1, -1, false)
    detail.afterAccept = lines
    local c = vim.api.nvim_win_get_cursor(0)
    local want = vim.split(before .. got, '\n', { plain = true })
    detail.cursorAfter = c
    local at_end = c[1] == row + #want - 1 and c[2] == #want[#want]
    return table.concat(lines, '\n') == before .. got and at_end, detail
  end)

  step('ghost_auto', function()
    -- Typing with pauses shorter than the debounce: one automatic request (kind 2) after the
    -- last key, whose answer shows without any call (when the model has one); <C-]> (mapped)
    -- dismisses it.
    local ghost = cartlsp.ghost
    -- A long debounce, so that a loaded machine's late timers still fall within it.
    ghost.configure({ enable = true, debounce_ms = 400, keymaps = { accept = '<Tab>', dismiss = '<C-]>' } })
    local kinds = {}
    local request = client.request
    client.request = function(...)
      local args = { ... }
      local method, params = args[1], args[2]
      if type(method) ~= 'string' then -- 0.11+: client:request(method, params, …)
        method, params = args[2], args[3]
      end
      if method == 'textDocument/inlineCompletion' then
        table.insert(kinds, params.context.triggerKind)
      end
      return request(...)
    end
    vim.cmd('stopinsert')
    pause(20)
    local n = vim.api.nvim_buf_line_count(buf)
    vim.api.nvim_buf_set_lines(buf, n, n, false, { '}', '', 'func Add(a, b int) int {', '\treturn' })
    vim.api.nvim_win_set_cursor(0, { n + 4, 0 })
    vim.cmd('startinsert!')
    pause(30)
    for _, key in ipairs({ ' ', 'a', ' ', '+' }) do
      feed(key)
      pause(40)
    end
    local typed = now_ms()
    local shown = vim.wait(20000, function()
      return ghost.visible()
    end, 20)
    local detail = { kinds = kinds, shownAfterMs = now_ms() - typed, text = ghost.text(), line = vim.api.nvim_get_current_line() }
    pause(300) -- no other request comes
    detail.requests = #kinds
    if shown then
      feed('<C-]>')
      pause(30)
      detail.dismissed = not ghost.visible()
    end
    client.request = request
    local ok = #kinds == 1 and kinds[1] == 2 and detail.line == '\treturn a +'
    return ok and (not shown or detail.dismissed), detail
  end)

  step('ghost_keys', function()
    -- A mapped key does its usual job when no ghost text shows: <Tab> inserts a tab.
    local ghost = cartlsp.ghost
    ghost.dismiss()
    vim.cmd('stopinsert')
    pause(20)
    vim.api.nvim_buf_set_lines(buf, -1, -1, false, { 'x' })
    local n = vim.api.nvim_buf_line_count(buf)
    vim.api.nvim_win_set_cursor(0, { n, 0 })
    vim.cmd('startinsert!')
    pause(30)
    ghost.set(false) -- no ghost text may come meanwhile
    feed('<Tab>')
    pause(30)
    vim.cmd('stopinsert')
    pause(20)
    local line = vim.api.nvim_buf_get_lines(buf, n - 1, n, false)[1]
    ghost.configure({})
    local unmapped = vim.fn.maparg('<Tab>', 'i') == ''
    return line == 'x\t' and unmapped, { line = line, unmappedAfter = unmapped }
  end)

  step('health', function()
    -- :checkhealth with the test's cmd, whose sh wrapper health sees through (the word naming cartlsp).
    vim.cmd('checkhealth cartlsp')
    local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
    vim.cmd('bwipeout!')
    vim.api.nvim_set_current_buf(buf)
    local server = text:find('OK[^\n]*cartlsp', 1) ~= nil
    local git = text:find('OK[^\n]*git version', 1) ~= nil
    local model = text:find('OK[^\n]*CARTLSP_MODEL', 1) ~= nil
    local store = text:find("OK[^\n]*HEAD's Cartridge", 1) ~= nil -- trained above
    -- 0.10+'s vim.health.start/ok/…: the check must report through them alone (this Neovim
    -- may have none of them: a stand-in records what it is told).
    local real, calls = vim.health, {}
    local stub = {}
    for _, name in ipairs({ 'start', 'ok', 'warn', 'error', 'info' }) do
      stub[name] = function(msg)
        table.insert(calls, name .. ': ' .. msg)
      end
    end
    package.loaded['cartlsp.health'] = nil
    vim.health = stub
    local called, why = pcall(function()
      require('cartlsp.health').check()
    end)
    vim.health = real
    package.loaded['cartlsp.health'] = nil
    local new_api = called and #calls > 5 and vim.tbl_contains(calls, 'start: cartlsp: the server')
    return server and git and model and store and new_api and not text:find('ERROR'),
      { text = text, newApi = called and calls or tostring(why) }
  end)

  step('lsp_config', function()
    local cfg = dofile(getenv('CARTLSP_E2E_PLUGIN') .. '/lsp/cartlsp.lua')
    return type(cfg) == 'table' and cfg.cmd[1] == 'cartlsp' and cfg.cmd[2] == 'serve' and cfg.root_markers[1] == '.git'
      and type(cfg.handlers['cartridge/status']) == 'function', { cmd = cfg.cmd, root_markers = cfg.root_markers }
  end)

  step('help', function()
    -- helptags on a copy: the source tree stays free of a tags file.
    local dir = vim.fn.tempname()
    vim.fn.mkdir(dir .. '/doc', 'p')
    vim.fn.writefile(vim.fn.readfile(getenv('CARTLSP_E2E_PLUGIN') .. '/doc/cartlsp.txt'), dir .. '/doc/cartlsp.txt')
    vim.opt.runtimepath:append(dir)
    vim.cmd('helptags ' .. vim.fn.fnameescape(dir .. '/doc'))
    local tags = {}
    for _, tag in ipairs({ 'cartlsp', 'cartlsp-ghost', ':CartAsk', ':CartRestart', 'cartlsp-health', 'cartlsp-lsp-enable' }) do
      vim.cmd('help ' .. tag)
      tags[tag] = vim.fn.expand('%:t') == 'cartlsp.txt'
      vim.cmd('helpclose')
    end
    vim.api.nvim_set_current_buf(buf)
    for _, found in pairs(tags) do
      if not found then
        return false, tags
      end
    end
    return true, tags
  end)

  step('selection_range', function()
    -- Charwise from line 1 col 3 to line 2 col 4 (1-based, inclusive): end is exclusive in LSP.
    vim.cmd('normal! gg0llvj0lll\27')
    local got = require('cartlsp.ask').selection_range(buf, 1, 2)
    local want = { start = { line = 0, character = 2 }, ['end'] = { line = 1, character = 4 } }
    vim.cmd('normal! ggVj\27')
    local lines = require('cartlsp.ask').selection_range(buf, 1, 2)
    local want_lines = { start = { line = 0, character = 0 }, ['end'] = { line = 2, character = 0 } }
    return vim.deep_equal(got, want) and vim.deep_equal(lines, want_lines), { charwise = got, linewise = lines }
  end)

  step('cancel', function()
    local s = cartlsp.ask({
      question = 'Explain every function in this repository in detail, one by one, with examples of how to call each of them and what they return.',
      bufnr = buf,
    })
    if not s then
      return false, 'ask sent nothing'
    end
    local sent = now_ms()
    s.view:close() -- closing the window cancels the request
    -- A RequestCancelled reply never reaches the handler (Neovim mutes it) but ends the pending request.
    local replied = vim.wait(30000, function()
      return s.done or client.requests[s.request_id] == nil
    end, 20)
    local reply_ms = now_ms() - sent
    -- The reply ends the pending request just before its handler runs: let that handler run.
    vim.wait(500, function()
      return s.done
    end, 10)
    local r = s.result or {}
    local detail = {
      cancelled = s.cancelled,
      replied = replied,
      replyMs = reply_ms,
      err = s.err,
      stopReason = r.stopReason,
      answer = r.answer,
    }
    if not replied then
      return false, detail
    end
    if not s.done then
      detail.reply = 'RequestCancelled (muted by Neovim)'
      return true, detail
    end
    return s.cancelled and (s.err and s.err.code == -32800 or r.stopReason == 'cancelled'), detail
  end)

  -- waits for a new initialized client for the buffer (not old), and makes it the test's.
  local function new_client(old)
    return vim.wait(60000, function()
      local id = cclient.id_for_buf(buf)
      local c = id and vim.lsp.get_client_by_id(id)
      if c and c.id ~= old and c.initialized then
        client = c
        return true
      end
      return false
    end, 50)
  end

  step('restart', function()
    -- :CartRestart: the old server shut down cleanly, a new one initializes for the buffer.
    local old = client.id
    vim.cmd('CartRestart')
    local ok = new_client(old)
    vim.wait(5000, function()
      return exits[old] ~= nil
    end, 20)
    local st = exits[old] or {}
    return ok and st.exitCode == 0 and vim.lsp.buf_is_attached(buf, client.id),
      { old = old, new = client.id, oldExit = st.exitCode }
  end)

  step('stop', function()
    -- :CartStop: the server exits and stays stopped when the buffer is entered again;
    -- :CartRestart starts it.
    local old = client.id
    vim.cmd('CartStop')
    local exited = vim.wait(20000, function()
      return exits[old] ~= nil
    end, 20)
    vim.cmd('doautocmd <nomodeline> BufEnter')
    pause(200)
    local detail = {
      exitCode = exits[old] and exits[old].exitCode,
      statusline = cartlsp.statusline(),
      restartedByBufEnter = cclient.attached(buf, true) ~= nil,
    }
    vim.cmd('CartRestart')
    detail.restarted = new_client(old)
    detail.new = client.id
    return exited and detail.exitCode == 0 and detail.statusline == 'cart: exited' and not detail.restartedByBufEnter
      and detail.restarted, detail
  end)

  step('log', function()
    -- :CartLog opens the LSP log (the server's stderr goes there) in a new tab.
    local tabs = #vim.api.nvim_list_tabpages()
    vim.cmd('CartLog')
    local name = vim.api.nvim_buf_get_name(0)
    local want = vim.fn.fnamemodify(require('vim.lsp.log').get_filename(), ':p')
    local detail = { name = name, want = want, tabs = #vim.api.nvim_list_tabpages() - tabs }
    vim.cmd('tabclose')
    vim.api.nvim_set_current_buf(buf)
    return vim.fn.fnamemodify(name, ':p') == want and detail.tabs == 1, detail
  end)

  step('shutdown', function()
    local id = client.id
    cclient.call(client, 'stop')
    if not vim.wait(20000, function()
      return exits[id] ~= nil
    end, 50) then
      return false, 'the server did not exit within 20 s of shutdown/exit'
    end
    local st = exits[id]
    return st.exitCode == 0, { exitCode = st.exitCode, signal = st.signal, statusline = cartlsp.statusline() }
  end)

  step('lsp_config_client', function()
    -- lsp/cartlsp.lua's functions on a client started from it the way vim.lsp.enable would
    -- (0.11+, not here: vim.lsp.start_client on 0.7), with setup's autostart off: its
    -- on_attach registers the client for the plugin, before_init sends setup's settings,
    -- on_exit records the exit.
    cartlsp.setup({ autostart = false, cmd = cclient.config.cmd, settings = { budget = 'tiny' }, on_status = cclient.config.on_status })
    local cfg = dofile(getenv('CARTLSP_E2E_PLUGIN') .. '/lsp/cartlsp.lua')
    cfg.name, cfg.cmd, cfg.root_dir = 'cartlsp', cclient.config.cmd, repo
    local id = vim.lsp.start_client(cfg)
    local detail = { id = id }
    if not id then
      return false, detail
    end
    vim.lsp.buf_attach_client(buf, id)
    local c = vim.lsp.get_client_by_id(id)
    detail.initialized = vim.wait(30000, function()
      return c.initialized == true
    end, 20)
    detail.registered = vim.wait(5000, function()
      return cclient.id_for_buf(buf) == id
    end, 20)
    local res = cclient.call(c, 'request_sync', 'cartlsp/config', vim.empty_dict(), 10000, buf) or {}
    for _, setting in ipairs(res.result and res.result.settings or {}) do
      if setting.key == 'budget' then
        detail.budget = setting
      end
    end
    -- The plugin's commands use it, and start none of their own.
    detail.statusBefore = cartlsp.statusline()
    local got
    cartlsp.execute('cartlsp.status', nil, function(err, r)
      got = err or r
    end)
    vim.wait(10000, function()
      return got ~= nil
    end, 20)
    detail.status = type(got) == 'table' and got.state or got
    cclient.call(c, 'stop')
    detail.exited = vim.wait(20000, function()
      return exits[id] ~= nil
    end, 20)
    detail.exitCode = exits[id] and exits[id].exitCode
    local b = detail.budget or {}
    return detail.initialized and detail.registered and b.value == 'tiny' and b.source == 'editor'
      and type(got) == 'table' and detail.exited and detail.exitCode == 0, detail
  end)
end

co = coroutine.create(function()
  local ok, err = pcall(main)
  if not ok then
    report.error = tostring(err)
  end
  local v = vim.version()
  report.nvim = string.format('%d.%d.%d', v.major, v.minor, v.patch)
  report.done = true
  pcall(write)
  vim.cmd('qa!')
end)
local ok, err = coroutine.resume(co)
if not ok then
  report.error = tostring(err)
  pcall(write)
  vim.cmd('qa!')
end
