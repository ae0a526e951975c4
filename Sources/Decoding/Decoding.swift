// Decoding module.
