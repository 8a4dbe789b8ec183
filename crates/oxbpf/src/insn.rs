//! BPF instructions and opcodes (ISA v1–v4).
