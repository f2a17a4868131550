//! How the web page tells whether the browser has WebAssembly's relaxed SIMD, and so which CPU
//! worker it starts: `amflow-worker-cpu-relaxed` (gemm's kernels with `f32x4.relaxed_madd`) or
//! `amflow-worker-cpu` (SIMD128 alone). A module that holds a single relaxed-SIMD instruction
//! fails validation where the proposal is missing, so the page asks `WebAssembly.validate`
//! about the smallest such module before it starts a worker.

/// The smallest module that uses relaxed SIMD: one function that pushes three `v128` zeros,
/// runs `f32x4.relaxed_madd` on them and drops the result. In WAT: `(module (func v128.const
/// i64x2 0 0 v128.const i64x2 0 0 v128.const i64x2 0 0 f32x4.relaxed_madd drop))`.
#[rustfmt::skip]
pub const RELAXED_SIMD_PROBE: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: 1 type, func () -> ()
    0x03, 0x02, 0x01, 0x00, // function section: 1 function of type 0
    0x0a, 0x3e, 0x01, 0x3c, 0x00, // code section (62 bytes): 1 body of 60 bytes, no locals
    0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
    0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
    0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
    0xfd, 0x85, 0x02, // f32x4.relaxed_madd (0xfd, then 0x105 as LEB128)
    0x1a, 0x0b, // drop, end
];

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::RELAXED_SIMD_PROBE;

    /// `WebAssembly.validate(probe)` in Node with V8's relaxed SIMD turned on or off by flag.
    fn node_validates(relaxed: bool, probe: &[u8]) -> bool {
        let flag = if relaxed {
            "--experimental-wasm-relaxed-simd"
        } else {
            "--no-experimental-wasm-relaxed-simd"
        };
        let hex: String = probe.iter().map(|b| format!("{b:02x}")).collect();
        let out = std::process::Command::new("node")
            .args([
                flag,
                "-e",
                "console.log(WebAssembly.validate(Buffer.from(process.argv[1], 'hex')))",
                &hex,
            ])
            .output()
            .unwrap_or_else(|e| panic!("this test needs Node (the browser test's): {e}"));
        assert!(
            out.status.success(),
            "node: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        match String::from_utf8_lossy(&out.stdout).trim() {
            "true" => true,
            "false" => false,
            other => panic!("node printed {other:?}"),
        }
    }

    #[test]
    fn the_probe_validates_only_where_relaxed_simd_is() {
        // Valid with the proposal (so a browser that has it gets the faster worker), invalid
        // without it (so Safari gets the SIMD128 worker, whose module it can run).
        assert!(node_validates(true, RELAXED_SIMD_PROBE));
        assert!(!node_validates(false, RELAXED_SIMD_PROBE));
        // A control: the same module with a SIMD128 instruction in place of the relaxed one
        // (f32x4.add, then drop: two operands, one result left to drop) validates whether the
        // flag is on or off, so the answer above comes from the relaxed instruction, not from
        // a malformed probe or an engine without SIMD.
        let mut plain = RELAXED_SIMD_PROBE.to_vec();
        let at = plain.len() - 5;
        plain.splice(at..at + 3, [0xfd, 0xe4, 0x01, 0x1a]); // f32x4.add, drop
        plain[19] += 1; // the code section is a byte longer
        plain[21] += 1; // and so is the body
        assert!(node_validates(false, &plain));
        assert!(node_validates(true, &plain));
    }
}
