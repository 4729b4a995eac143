-- The cartlsp server for Neovim 0.11+'s vim.lsp.config / vim.lsp.enable:
--
--   vim.lsp.enable('cartlsp')                                   -- with this directory on 'runtimepath'
--   vim.lsp.config('cartlsp', { init_options = { budget = 'small' } })  -- the server's settings (docs/LSP.md)
--
-- It starts `cartlsp serve` in the git repository of each buffer (any filetype), shows training in the
-- plugin's statusline component and status callbacks, and Neovim's own progress display. The commands
-- (:CartAsk, :CartTrain, …) and ghost text come with require('cartlsp').setup{}; on 0.7–0.10 setup{} is
-- the only way, and it starts the server itself.
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
}
