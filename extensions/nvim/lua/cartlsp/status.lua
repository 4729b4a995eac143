-- The latest `cartridge/status` of each client, kept so that the statusline can
-- read it without any RPC.
local M = {}

local by_client = {}
local on_status -- the user's callback, from setup
local listeners = {} -- the plugin's own, e.g. ask's, to end answers when their server exits

function M.set_callback(fn)
  on_status = fn
end

function M.subscribe(fn)
  table.insert(listeners, fn)
end

function M.get(client_id)
  return client_id and by_client[client_id]
end

-- update records a status (from the notification, from `cartlsp.status`, or the
-- plugin's own `exited` when the server exits) and tells the user.
function M.update(client_id, st)
  by_client[client_id] = st
  for _, fn in ipairs(listeners) do
    fn(st, client_id)
  end
  if on_status then
    local ok, err = pcall(on_status, st, client_id)
    if not ok then
      vim.notify('cartlsp: on_status failed: ' .. tostring(err), vim.log.levels.ERROR)
    end
  end
  vim.cmd('redrawstatus!')
end

local function short(commit)
  return type(commit) == 'string' and commit:sub(1, 7) or nil
end

-- format turns a status into the short statusline text.
function M.format(st)
  if not st then
    return ''
  end
  if st.state == 'training' then
    return st.percentage and string.format('cart: training %d%%', math.floor(st.percentage)) or 'cart: training'
  elseif st.state == 'ready' then
    local commit = short(st.cartridgeCommit)
    if commit then
      return 'cart: ready @' .. commit
    end
    return 'cart: ready (' .. (st.source or 'no cartridge') .. ')'
  elseif st.state == 'exited' then
    return st.exitCode == 0 and 'cart: exited' or string.format('cart: exited (%s)', tostring(st.exitCode))
  end
  return 'cart: ' .. tostring(st.state)
end

return M
