#!/usr/bin/env bash
# Real screenshots of the Neovim plugin for the README: Neovim runs in tmux against bin/cartlsp and the
# default model, on a git repository of github.com/google/uuid's files, answering with uuid's Cartridge
# (CART, scripts/quality.sh's uuid-amx, composed as a dependency Cartridge so that nothing trains); tmux's
# screen is rendered by scripts/termshot.
#
#   scripts/nvim_screenshots.sh      # docs/img/nvim-ask.png, docs/img/nvim-ghost.png
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${BIN:-bin/cartlsp}")
CART=$(realpath "${CART:-bin/quality/uuid-amx.cart}")
GO=${GO:-go}
COLS=${COLS:-110}
ROWS=${ROWS:-32}
OUTDIR=${OUTDIR:-docs/img}
command -v tmux >/dev/null || { echo "needs tmux (apt-get install tmux)" >&2; exit 2; }
command -v nvim >/dev/null || { echo "needs nvim (make nvim)" >&2; exit 2; }
work=$(mktemp -d)
trap 'tmux kill-session -t cartshot 2>/dev/null || true; rm -rf "$work"' EXIT
mod=$($GO mod download -json github.com/google/uuid@v1.6.0 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
mkdir -p "$work/uuid"
for f in "$mod"/*.go; do case "$f" in *_test.go) ;; *) cp "$f" "$work/uuid/" ;; esac; done
cp "$mod/go.mod" "$work/uuid/"
chmod -R u+w "$work/uuid"
git -C "$work/uuid" init -q -b main
git -C "$work/uuid" -c user.email=demo@example.com -c user.name=demo add -A
git -C "$work/uuid" -c user.email=demo@example.com -c user.name=demo commit -qm "uuid v1.6.0"
cat > "$work/init.lua" <<LUA
vim.opt.runtimepath:append('$PWD/extensions/nvim')
vim.o.termguicolors = true
vim.cmd('highlight NormalFloat guibg=#262637 guifg=#cdd6f4')
vim.cmd('highlight FloatBorder guibg=#262637 guifg=#7f849c')
vim.o.number = true
vim.o.laststatus = 2
vim.cmd('filetype indent off')
vim.o.autoindent = false
vim.o.statusline = "%f %m%=%{v:lua.require'cartlsp'.statusline()} %l:%c "
require('cartlsp').setup({
  cmd = { '$BIN', 'serve' },
  settings = { autoTrain = false, inContextTokens = 0, dependencies = { '$CART' } },
  ghost = { enable = true, debounce_ms = 100, keymaps = { accept = '<Tab>' } },
})
LUA
export CARTLSP_STORE="$work/store" XDG_STATE_HOME="$work/state" XDG_CACHE_HOME="${XDG_CACHE_HOME:-$HOME/.cache}"
tmux new-session -d -s cartshot -x "$COLS" -y "$ROWS" "cd $work/uuid && nvim -u $work/init.lua -i NONE uuid.go"
shot() { # name: capture the pane and render it
	tmux capture-pane -p -e -t cartshot > "$work/$1.txt"
	$GO run ./scripts/termshot -cols "$COLS" -rows "$ROWS" -o "$OUTDIR/$1.png" < "$work/$1.txt"
	echo "wrote $OUTDIR/$1.png"
}
sleep 8 # the server loads the model and the Cartridge
tmux send-keys -t cartshot ':CartAsk How do I parse a UUID string and check its version?' Enter
sleep "${ASK_WAIT:-40}"
shot nvim-ask
tmux send-keys -t cartshot q
sleep 1
# Ghost text: a new test function, typed as a user would.
tmux send-keys -t cartshot G o Enter 'func TestParseVersion(t *testing.T) {' Enter '	u, err := Parse("f47ac10b-58cc-4372-a567-0e02b2c3d479")' Enter '	if err != nil {' Enter '		t.Fatal(err)' Enter '	}' Enter '	if u.Version() != 4 {' Enter '		t.Errorf('
sleep "${GHOST_WAIT:-12}"
shot nvim-ghost
tmux send-keys -t cartshot Escape ':qa!' Enter
