-- Routes `$/progress` notifications: the plugin's own partial-result tokens go to
-- their listener, everything else (the server's training work-done progress) to
-- whatever `vim.lsp.handlers['$/progress']` is at that moment, so Neovim's
-- built-in progress (0.7's client.messages, 0.10's LspProgress) and any user
-- override keep working.
local M = {}

local listeners = {}
local next_id = 0

-- listen returns a fresh token whose notifications call fn(value).
function M.listen(prefix, fn)
  next_id = next_id + 1
  local token = string.format('cartlsp-%s-%d', prefix, next_id)
  listeners[token] = fn
  return token
end

function M.forget(token)
  listeners[token] = nil
end

-- handler is the client's `$/progress` handler (passed in start_client's handlers).
function M.handler(err, result, ctx, config)
  local fn = result and listeners[result.token]
  if fn then
    fn(result.value)
    return
  end
  local default = vim.lsp.handlers['$/progress']
  if default then
    return default(err, result, ctx, config)
  end
end

return M
