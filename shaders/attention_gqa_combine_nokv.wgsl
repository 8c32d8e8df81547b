// attention_gqa_combine.wgsl's cache write where the keys were cached before the attention (rope_kv): none.
fn store_own_kv(t: u32, h: u32, lid: u32) {}
