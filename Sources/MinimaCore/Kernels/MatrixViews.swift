/// A read-only matrix whose elements are read one at a time (and broadcast to all lanes):
/// element (r, k) is at `base[r * rowStride + k * columnStride]`. The strides let one kernel
/// read a matrix or its transpose.
@usableFromInline
struct BroadcastOperand {
    @usableFromInline let base: UnsafePointer<Float>
    @usableFromInline let rowStride: Int
    @usableFromInline let columnStride: Int

    @inlinable init(_ base: UnsafePointer<Float>, rowStride: Int, columnStride: Int) {
        self.base = base
        self.rowStride = rowStride
        self.columnStride = columnStride
    }
}

/// A read-only row-major matrix whose rows are read 16 lanes at a time; `rowStride` is a
/// multiple of 16 and every row's padding is zero.
@usableFromInline
struct VectorOperand {
    @usableFromInline let base: UnsafePointer<Float>
    @usableFromInline let rowStride: Int

    @inlinable init(_ base: UnsafePointer<Float>, rowStride: Int) {
        self.base = base
        self.rowStride = rowStride
    }
}

public typealias Lanes = SIMD16<Float>

extension UnsafePointer where Pointee == Float {
    @inline(__always) func lanes(at offset: Int) -> Lanes {
        UnsafeRawPointer(self + offset).loadUnaligned(as: Lanes.self)
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func lanes(at offset: Int) -> Lanes {
        UnsafeRawPointer(self + offset).loadUnaligned(as: Lanes.self)
    }

    @inline(__always) func storeLanes(_ value: Lanes, at offset: Int) {
        UnsafeMutableRawPointer(self + offset).storeBytes(of: value, as: Lanes.self)
    }
}
