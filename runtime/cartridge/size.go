package cartridge

// Bytes is the size of c's keys and values stored as dtype:
// layers × 2 (K and V) × kv_heads × p × head_dim × dtype size. The file adds a
// header of a few KiB.
func (c *Cartridge) Bytes(dtype DType) int64 {
	m := c.Meta
	return int64(m.Model.Layers) * 2 * int64(m.Model.KVHeads) * int64(m.P) * int64(m.Model.HeadDim) * int64(dtype.Size())
}

// ICLBytes is what tokens tokens of context take as a KV cache of model m
// (in-context learning): tokens × layers × 2 (K and V) × kv_heads × head_dim ×
// bytesPerElem (2 for F16).
func ICLBytes(m ModelInfo, tokens int, bytesPerElem int) int64 {
	return int64(tokens) * int64(m.Layers) * 2 * int64(m.KVHeads) * int64(m.HeadDim) * int64(bytesPerElem)
}
