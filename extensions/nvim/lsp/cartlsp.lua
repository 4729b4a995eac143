-- The cartlsp server for Neovim 0.11+'s vim.lsp.config / vim.lsp.enable:
--
--   vim.lsp.enable('cartlsp')                                   -- with extensions/nvim on 'runtimepath'
--   vim.lsp.config('cartlsp', { init_options = { budget = 'small' } })  -- the server's settings (docs/LSP.md)
--
-- It starts `cartlsp serve` in the git repository of each buffer (any filetype). Training shows in
-- Neovim's own progress display, in require('cartlsp').statusline() and setup's on_status. Without
-- init_options the server gets setup{}'s settings. For the commands (:CartAsk, :CartRestart, …) and the
-- ghost text, also call require('cartlsp').setup({ autostart = false, … }): the plugin then starts no
-- server of its own and serves the buffers this configuration attaches. On 0.7–0.10 setup{} alone
-- (autostart on) is the way.
local client = require('cartlsp.client')
local progress = require('cartlsp.progress')
local status = require('cartlsp.status')

return {
  cmd = { 'cartlsp', 'serve' },
  root_markers = { '.git' },
  init_options = vim.empty_dict(),
  handlers = {
    ['$/progress'] = progress.handler,
    ['cartridge/status'] = function(_, result, ctx)
      status.update(ctx.client_id, result)
    end,
  },
  before_init = function(params, config)
    -- No init_options of the user's: the settings given to setup{}, if any.
    if next(config.init_options or {}) == nil then
      params.initializationOptions = client.settings()
    end
  end,
  on_attach = function(c, bufnr)
    client.register(c, bufnr)
    if client.config.on_attach then
      client.config.on_attach(c, bufnr)
    end
  end,
  on_exit = client.exited,
}
