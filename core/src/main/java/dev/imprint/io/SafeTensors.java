package dev.imprint.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imprint.InputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
 * ({@code name -> {dtype, shape, data_offsets: [begin, end]}} plus an optional string map
 * {@code __metadata__}), then the raw little-endian tensor bytes. Reading validates the header
 * completely before any tensor is touched; every problem is an {@link InputException} naming the
 * file, the tensor and what is wrong. Opening reads only the header; each read maps just its
 * tensor's bytes and unmaps them once copied, so a file's pages count toward the process only while
 * one tensor is being read (method §3.4: loading a checkpoint does not hold the file beside the heap).
 */
public final class SafeTensors implements AutoCloseable {
    /**
     * Metadata key of the CRC32C of each tensor's bytes, 8 hex digits per tensor in header order,
     * comma-separated. Imprint writes it into every file it writes, and a read of a tensor from a
     * file that has it checks the tensor's bytes against it (method §3.5): a value changed on disk
     * is named, not used. Files from elsewhere, without the key, are read unchecked.
     */
    public static final String CRC32C_KEY = "imprint.crc32c";

    /** Largest header accepted: generous for millions of tensors, small enough to reject garbage. */
    static final long MAX_HEADER_BYTES = 100L << 20;
    /** Trailing tokens after the header object are an error; trailing spaces (the padding) are not. */
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Element types Imprint reads and writes. */
    public enum DType {
        F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4);

        public final int bytes;

        DType(int bytes) {
            this.bytes = bytes;
        }

        boolean floating() {
            return this == F64 || this == F32 || this == F16 || this == BF16;
        }
    }

    /** One tensor's entry in the header; offsets are relative to the start of the data section. */
    public record Info(String name, DType dtype, long[] shape, long begin, long end) {
        public long elements() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    /**
     * A tensor to be written: float32, float64, int64, or float16/bfloat16 converted from float32
     * (both rounded to nearest, ties to even; NaN stays NaN, overflow becomes infinity).
     */
    public sealed interface Tensor {
        long[] shape();

        DType dtype();

        static Tensor f32(float[] data, long... shape) {
            return new F32Tensor(data, shape);
        }

        static Tensor f64(double[] data, long... shape) {
            return new F64Tensor(data, shape);
        }

        static Tensor i64(long[] data, long... shape) {
            return new I64Tensor(data, shape);
        }

        /** IEEE half precision, converted from {@code values} by {@link Float#floatToFloat16}. */
        static Tensor f16(float[] values, long... shape) {
            short[] bits = new short[values.length];
            for (int i = 0; i < bits.length; i++) bits[i] = Float.floatToFloat16(values[i]);
            return new F16Tensor(bits, shape);
        }

        /** bfloat16 (the top 16 bits of a float32), converted from {@code values} by {@link #bf16Bits}. */
        static Tensor bf16(float[] values, long... shape) {
            short[] bits = new short[values.length];
            for (int i = 0; i < bits.length; i++) bits[i] = bf16Bits(values[i]);
            return new BF16Tensor(bits, shape);
        }
    }

    record F32Tensor(float[] data, long[] shape) implements Tensor {
        F32Tensor {
            checkShape(data, shape);
        }

        public DType dtype() { return DType.F32; }
    }

    record F64Tensor(double[] data, long[] shape) implements Tensor {
        F64Tensor {
            checkShape(data, shape);
        }

        public DType dtype() { return DType.F64; }
    }

    record I64Tensor(long[] data, long[] shape) implements Tensor {
        I64Tensor {
            checkShape(data, shape);
        }

        public DType dtype() { return DType.I64; }
    }

    /** Half-precision bit patterns ({@link Float#floatToFloat16}'s). */
    record F16Tensor(short[] data, long[] shape) implements Tensor {
        F16Tensor {
            checkShape(data, shape);
        }

        public DType dtype() { return DType.F16; }
    }

    /** bfloat16 bit patterns ({@link #bf16Bits}'). */
    record BF16Tensor(short[] data, long[] shape) implements Tensor {
        BF16Tensor {
            checkShape(data, shape);
        }

        public DType dtype() { return DType.BF16; }
    }

    /** Whether the values fill the shape is checked by {@link #write}, whose message names the tensor. */
    private static void checkShape(Object data, long[] shape) {
        java.util.Objects.requireNonNull(data, "data");
        java.util.Objects.requireNonNull(shape, "shape");
        for (long d : shape)
            if (d < 0) throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " has a negative dimension");
    }

    /**
     * float32 → bfloat16 bits: the top 16 bits rounded to nearest, ties to even. A NaN keeps its sign
     * and gets the quiet bit, so a NaN whose payload lies in the dropped bits cannot become infinity.
     */
    static short bf16Bits(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x0040);
        // Cannot overflow: only NaN bit patterns lie within 0x8000 of the int range's ends.
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** Bytes of {@code t}'s data, after checking that its values fill its shape exactly. */
    static long dataBytes(String name, Tensor t) {
        long elements = 1;
        for (long d : t.shape()) elements = Math.multiplyExact(elements, d);
        long len = switch (t) {
            case F32Tensor f -> f.data().length;
            case F64Tensor f -> f.data().length;
            case I64Tensor f -> f.data().length;
            case F16Tensor f -> f.data().length;
            case BF16Tensor f -> f.data().length;
        };
        if (len != elements)
            throw new IllegalArgumentException("tensor '" + name + "': " + len + " values for shape " + java.util.Arrays.toString(t.shape()));
        return Math.multiplyExact(elements, t.dtype().bytes);
    }

    private final Path path;
    private final FileChannel channel;
    /** Where the data section starts in the file. */
    private final long dataStart;
    private final Map<String, Info> tensors;
    private final Map<String, String> metadata;
    /** Tensor → the CRC32C written for it; empty for files without {@value #CRC32C_KEY}. */
    private final Map<String, Integer> checksums;

    private SafeTensors(Path path, FileChannel channel, long dataStart, Map<String, Info> tensors, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.checksums = checksums(path, tensors, metadata.get(CRC32C_KEY));
        Map<String, String> m = new LinkedHashMap<>(metadata);
        m.remove(CRC32C_KEY);
        this.metadata = Collections.unmodifiableMap(m);
    }

    private static Map<String, Integer> checksums(Path path, Map<String, Info> tensors, String value) {
        if (value == null) return Map.of();
        String[] hex = value.isEmpty() ? new String[0] : value.split(",", -1);
        if (hex.length != tensors.size())
            throw bad(path, CRC32C_KEY + " lists " + hex.length + " checksums for " + tensors.size() + " tensors");
        Map<String, Integer> out = new java.util.HashMap<>();
        int i = 0;
        for (String name : tensors.keySet()) {
            String h = hex[i++];
            if (!h.matches("[0-9a-f]{8}")) throw bad(path, CRC32C_KEY + " entry '" + h + "' is not 8 hex digits");
            out.put(name, Integer.parseUnsignedInt(h, 16));
        }
        return out;
    }


    /** Opens and validates a safetensors file. */
    public static SafeTensors open(Path path) {
        FileChannel ch = null;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
            long size = ch.size();
            if (size < 8) throw bad(path, "file is " + size + " bytes, shorter than the 8-byte header length");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen < 2 || headerLen > MAX_HEADER_BYTES)
                throw bad(path, "header length " + headerLen + " is outside [2, " + MAX_HEADER_BYTES + "]");
            if (8 + headerLen > size)
                throw bad(path, "header length " + headerLen + " runs past the end of the " + size + "-byte file");
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            while (hb.hasRemaining() && ch.read(hb, 8 + hb.position()) > 0) { /* fill */ }
            String header = new String(hb.array(), StandardCharsets.UTF_8);
            long dataLen = size - 8 - headerLen;
            Map<String, String> meta = new LinkedHashMap<>();
            Map<String, Info> infos = parseHeader(path, header, dataLen, meta);
            return new SafeTensors(path, ch, 8 + headerLen, Collections.unmodifiableMap(infos), Collections.unmodifiableMap(meta));
        } catch (NoSuchFileException e) {
            throw InputException.notFound(path + ": no such file");
        } catch (IOException e) {
            closeQuietly(ch);
            throw new InputException(path + ": cannot read (" + e.getMessage() + ")", e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch == null) return;
        try {
            ch.close();
        } catch (IOException ignored) {
            // already failing with the first error
        }
    }

    /**
     * Maps {@code info}'s bytes in {@code arena}. Callers close the arena once they have copied
     * them, which unmaps the pages.
     */
    private MemorySegment map(Info info, Arena arena) {
        MemorySegment s;
        if (info.end() == info.begin()) s = MemorySegment.NULL;
        else try {
            s = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), info.end() - info.begin(), arena);
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot read tensor '" + info.name() + "' (" + e.getMessage() + ")", e);
        }
        Integer want = checksums.get(info.name());
        if (want != null && Crc32c.of(s) != want)
            throw new InputException(path + ": tensor '" + info.name() + "' is damaged (its bytes do not match the CRC32C written with them)");
        return s;
    }

    private static Map<String, Info> parseHeader(Path path, String header, long dataLen, Map<String, String> meta) {
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JsonProcessingException e) {
            throw bad(path, "header is not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isObject()) throw bad(path, "header is not a JSON object");
        Map<String, Info> infos = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) throw bad(path, "__metadata__ is not an object");
                v.properties().forEach(m -> {
                    if (!m.getValue().isTextual()) throw bad(path, "__metadata__." + m.getKey() + " is not a string");
                    meta.put(m.getKey(), m.getValue().asText());
                });
                continue;
            }
            infos.put(name, parseEntry(path, name, v, dataLen));
        }
        // Sorted by begin, a non-empty tensor overlaps an earlier one exactly when it begins before the
        // furthest end reached so far (comparing only neighbours would let an empty tensor hide an overlap).
        List<Info> sorted = new ArrayList<>(infos.values());
        sorted.sort(Comparator.comparingLong(Info::begin));
        Info furthest = null;
        for (Info cur : sorted) {
            if (cur.end() == cur.begin()) continue;
            if (furthest != null && cur.begin() < furthest.end())
                throw bad(path, "tensor '" + cur.name() + "' overlaps tensor '" + furthest.name() + "'");
            if (furthest == null || cur.end() > furthest.end()) furthest = cur;
        }
        return infos;
    }

    private static Info parseEntry(Path path, String name, JsonNode v, long dataLen) {
        String where = "tensor '" + name + "'";
        if (!v.isObject()) throw bad(path, where + ": entry is not an object");
        JsonNode dt = v.get("dtype"), sh = v.get("shape"), off = v.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw bad(path, where + ": missing dtype");
        DType dtype;
        try {
            dtype = DType.valueOf(dt.asText());
        } catch (IllegalArgumentException e) {
            throw bad(path, where + ": unsupported dtype " + dt.asText());
        }
        if (sh == null || !sh.isArray()) throw bad(path, where + ": missing shape");
        long[] shape = new long[sh.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!isLong(d) || d.asLong() < 0)
                throw bad(path, where + ": shape " + sh + " has an invalid dimension");
            shape[i] = d.asLong();
            elements = Math.multiplyHigh(elements, shape[i]) != 0 ? -1 : elements * shape[i];
            if (elements < 0) throw bad(path, where + ": shape " + sh + " is too large");
        }
        if (off == null || !off.isArray() || off.size() != 2 || !isLong(off.get(0)) || !isLong(off.get(1)))
            throw bad(path, where + ": data_offsets must be [begin, end]");
        long begin = off.get(0).asLong(), end = off.get(1).asLong();
        if (begin < 0 || end < begin || end > dataLen)
            throw bad(path, where + ": data_offsets [" + begin + ", " + end + "] outside the " + dataLen + "-byte data section");
        // multiplyHigh: elements · bytes can pass 2^63 and wrap onto a plausible byte count.
        if (Math.multiplyHigh(elements, dtype.bytes) != 0 || end - begin != elements * dtype.bytes)
            throw bad(path, where + ": " + (end - begin) + " bytes do not hold shape " + sh + " of " + dtype);
        return new Info(name, dtype, shape, begin, end);
    }

    private static boolean isLong(JsonNode n) {
        return n.isIntegralNumber() && n.canConvertToLong();
    }

    private static InputException bad(Path path, String what) {
        return new InputException(path + ": malformed safetensors: " + what);
    }

    public Path path() {
        return path;
    }

    /** Tensor entries in header order. */
    public Map<String, Info> tensors() {
        return tensors;
    }

    /** The file's string metadata, without the checksums ({@value #CRC32C_KEY}), which reads check themselves. */
    public Map<String, String> metadata() {
        return metadata;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** The entry for {@code name}, or an error naming the missing tensor. */
    public Info info(String name) {
        Info i = tensors.get(name);
        if (i == null) throw new InputException(path + ": tensor '" + name + "' is missing");
        return i;
    }

    /** Reads a floating tensor as float32 (F16 and BF16 widened, F64 rounded). */
    public float[] floats(String name) {
        Info info = info(name);
        int n = toInt(info);
        if (!info.dtype().floating())
            throw new InputException(path + ": tensor '" + name + "' has dtype " + info.dtype() + ", expected a floating type");
        float[] out = new float[n];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = map(info, arena);
            switch (info.dtype()) {
                case F32 -> MemorySegment.copy(s, F32, 0, out, 0, n);
                case F16 -> { for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(s.getAtIndex(I16, i)); }
                // The short sign-extends to an int and << 16 shifts those extension bits out: the sign lands in bit 31.
                case BF16 -> { for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat(s.getAtIndex(I16, i) << 16); }
                case F64 -> { for (int i = 0; i < n; i++) out[i] = (float) s.getAtIndex(F64, i); }
                default -> throw new IllegalStateException(info.dtype().toString());
            }
        }
        return out;
    }

    /** Reads a floating tensor as float64. */
    public double[] doubles(String name) {
        Info info = info(name);
        if (info.dtype() == DType.F64) {
            double[] out = new double[toInt(info)];
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment.copy(map(info, arena), F64, 0, out, 0, out.length);
            }
            return out;
        }
        float[] f = floats(name);
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) out[i] = f[i];
        return out;
    }

    /** Reads an integer tensor (I64 or I32) as longs. */
    public long[] longs(String name) {
        Info info = info(name);
        int n = toInt(info);
        if (info.dtype() != DType.I64 && info.dtype() != DType.I32)
            throw new InputException(path + ": tensor '" + name + "' has dtype " + info.dtype() + ", expected an integer type");
        long[] out = new long[n];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = map(info, arena);
            if (info.dtype() == DType.I64) MemorySegment.copy(s, I64, 0, out, 0, n);
            else for (int i = 0; i < n; i++) out[i] = s.getAtIndex(I32, i);
        }
        return out;
    }

    /** Checks that {@code name} has exactly {@code expected} as its shape. */
    public void requireShape(String name, long... expected) {
        long[] got = info(name).shape();
        if (!java.util.Arrays.equals(got, expected))
            throw new InputException(path + ": tensor '" + name + "' has shape " + java.util.Arrays.toString(got)
                    + ", expected " + java.util.Arrays.toString(expected));
    }

    private int toInt(Info info) {
        long n = info.elements();
        if (n > Integer.MAX_VALUE - 8) throw new InputException(path + ": tensor '" + info.name() + "' has " + n + " elements, more than a Java array holds");
        return (int) n;
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    /**
     * Writes tensors (in the map's order) and string metadata to {@code target}, atomically.
     * The header is padded with spaces to a multiple of 8 bytes, as the reference writer does.
     */
    public static void write(Path target, Map<String, Tensor> tensors, Map<String, String> metadata) {
        Map<String, Entry> entries = new LinkedHashMap<>();
        tensors.forEach((name, t) -> {
            dataBytes(name, t);
            entries.put(name, new Entry(t.dtype(), t.shape()));
        });
        try (Writer w = Writer.create(target, entries, metadata)) {
            tensors.forEach(w::put);
            w.commit();
        }
    }

    /** One tensor's place in a file being written: its element type and shape. */
    public record Entry(DType dtype, long[] shape) {
        long bytes() {
            long elements = 1;
            for (long d : shape) elements = Math.multiplyExact(elements, d);
            return Math.multiplyExact(elements, dtype.bytes);
        }
    }

    /**
     * A safetensors file written one tensor at a time, in any order: the header (every entry's
     * dtype, shape and offsets) is written first, so that a producer holding one tensor at a time
     * (a fitting stage, layer by layer) never needs the others in memory. The file appears, whole,
     * at {@link #commit()}; a writer closed before that leaves the old file (or none).
     */
    public static final class Writer implements AutoCloseable {
        private final Path target;
        private final AtomicFiles.Pending pending;
        private final FileChannel channel;
        private final Map<String, Entry> entries;
        private final Map<String, Long> offsets = new LinkedHashMap<>();
        private final java.util.Set<String> written = new java.util.HashSet<>();
        private boolean flushed;
        private final long dataStart;
        /** Where the {@value #CRC32C_KEY} value starts in the file, and each tensor's CRC32C once written. */
        private final long checksumsAt;
        private final Map<String, Integer> checksums = new java.util.HashMap<>();

        private Writer(Path target, AtomicFiles.Pending pending, FileChannel channel, Map<String, Entry> entries, long dataStart, long checksumsAt) {
            this.target = target;
            this.pending = pending;
            this.channel = channel;
            this.entries = entries;
            this.dataStart = dataStart;
            this.checksumsAt = checksumsAt;
            long offset = 0;
            for (Map.Entry<String, Entry> e : entries.entrySet()) {
                offsets.put(e.getKey(), offset);
                offset += e.getValue().bytes();
            }
        }

        /**
         * Starts {@code target} with the given entries (in header order) and metadata. The metadata
         * gets {@value #CRC32C_KEY} (replacing one passed in), zeros until {@link #flush()} writes
         * the tensors' checksums over them.
         */
        public static Writer create(Path target, Map<String, Entry> entries, Map<String, String> metadata) {
            ObjectNode header = JSON.createObjectNode();
            ObjectNode m = header.putObject("__metadata__");
            if (metadata != null) metadata.forEach((k, v) -> { if (!k.equals(CRC32C_KEY)) m.put(k, v); });
            String zeros = String.join(",", java.util.Collections.nCopies(entries.size(), "00000000"));
            m.put(CRC32C_KEY, zeros);
            long offset = 0;
            for (Map.Entry<String, Entry> e : entries.entrySet()) {
                checkShape(e.getValue(), e.getValue().shape());
                long bytes = e.getValue().bytes();
                ObjectNode n = header.putObject(e.getKey());
                n.put("dtype", e.getValue().dtype().name());
                var sh = n.putArray("shape");
                for (long d : e.getValue().shape()) sh.add(d);
                var off = n.putArray("data_offsets");
                off.add(offset);
                off.add(offset + bytes);
                offset += bytes;
            }
            byte[] h;
            try {
                h = JSON.writeValueAsBytes(header);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
            // the value's place: the key, quoted, then a colon and the opening quote (Jackson writes compact JSON)
            byte[] key = ("\"" + CRC32C_KEY + "\":\"").getBytes(StandardCharsets.UTF_8);
            long checksumsAt = 8 + indexOf(h, key) + key.length;
            int padded = (h.length + 7) / 8 * 8;
            byte[] hp = new byte[padded];
            System.arraycopy(h, 0, hp, 0, h.length);
            java.util.Arrays.fill(hp, h.length, padded, (byte) ' ');
            AtomicFiles.Pending pending = AtomicFiles.begin(target);
            try {
                FileChannel ch = FileChannel.open(pending.tmp(), StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
                try {
                    writeFully(ch, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).flip(), 0);
                    writeFully(ch, ByteBuffer.wrap(hp), 8);
                } catch (IOException | RuntimeException e) {
                    ch.close();
                    throw e;
                }
                return new Writer(target, pending, ch, new LinkedHashMap<>(entries), 8 + padded, checksumsAt);
            } catch (IOException e) {
                pending.close();
                throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
            } catch (RuntimeException e) {
                pending.close();
                throw e;
            }
        }

        /** Writes {@code name}'s data, which must match the entry's dtype and shape, at its place in the file. */
        public void put(String name, Tensor t) {
            Entry e = entries.get(name);
            if (e == null) throw new IllegalArgumentException(target + ": no entry '" + name + "' in the header");
            if (e.dtype() != t.dtype() || !java.util.Arrays.equals(e.shape(), t.shape()))
                throw new IllegalArgumentException(target + ": tensor '" + name + "' is " + t.dtype() + " " + java.util.Arrays.toString(t.shape())
                        + ", the header says " + e.dtype() + " " + java.util.Arrays.toString(e.shape()));
            dataBytes(name, t);
            if (!written.add(name)) throw new IllegalStateException(target + ": tensor '" + name + "' written twice");
            long position = dataStart + offsets.get(name);
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            try {
                ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
                switch (t) {
                    case F32Tensor f -> { for (float x : f.data()) { if (buf.remaining() < 8) position = drain(channel, buf, position, crc); buf.putFloat(x); } }
                    case F64Tensor f -> { for (double x : f.data()) { if (buf.remaining() < 8) position = drain(channel, buf, position, crc); buf.putDouble(x); } }
                    case I64Tensor f -> { for (long x : f.data()) { if (buf.remaining() < 8) position = drain(channel, buf, position, crc); buf.putLong(x); } }
                    case F16Tensor f -> { for (short x : f.data()) { if (buf.remaining() < 8) position = drain(channel, buf, position, crc); buf.putShort(x); } }
                    case BF16Tensor f -> { for (short x : f.data()) { if (buf.remaining() < 8) position = drain(channel, buf, position, crc); buf.putShort(x); } }
                }
                drain(channel, buf, position, crc);
                checksums.put(name, (int) crc.getValue());
            } catch (IOException ex) {
                throw new UncheckedIOException("cannot write " + target + ": " + ex.getMessage(), ex);
            }
        }

        /**
         * Flushes the file to disk, not yet in place; every entry must have been written. Writers
         * of files that belong together flush all of them before committing any, so that a full
         * disk is found before the first rename.
         */
        public void flush() {
            if (flushed) return;
            for (String name : entries.keySet())
                if (!written.contains(name)) throw new IllegalStateException(target + ": tensor '" + name + "' was never written");
            StringBuilder hex = new StringBuilder();
            for (String name : entries.keySet()) {
                if (!hex.isEmpty()) hex.append(',');
                hex.append(Crc32c.hex(checksums.get(name)));
            }
            try {
                writeFully(channel, ByteBuffer.wrap(hex.toString().getBytes(StandardCharsets.US_ASCII)), checksumsAt);
                channel.force(false);
                channel.close();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
            }
            flushed = true;
        }

        /** Flushes the file (when not done yet) and renames it into place. */
        public void commit() {
            flush();
            pending.commit();
        }

        /** Abandons the file unless it was committed. */
        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the temporary file is deleted either way
            }
            pending.close();
        }
    }

    /** Writes {@code buf}'s contents at {@code position}, adding them to {@code crc}; returns the position after them, the buffer cleared. */
    private static long drain(FileChannel ch, ByteBuffer buf, long position, java.util.zip.CRC32C crc) throws IOException {
        crc.update(buf.array(), 0, buf.position());
        buf.flip();
        long end = writeFully(ch, buf, position);
        buf.clear();
        return end;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new IllegalStateException("no " + new String(needle, StandardCharsets.UTF_8) + " in the header");
    }

    private static long writeFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
        while (b.hasRemaining()) position += ch.write(b, position);
        return position;
    }

    /** Reads the whole file's float tensors eagerly (for small files: factors, test fixtures). */
    public static Map<String, float[]> readAllFloats(Path path) {
        try (SafeTensors st = open(path)) {
            Map<String, float[]> out = new LinkedHashMap<>();
            for (String n : st.tensors().keySet()) if (st.info(n).dtype().floating()) out.put(n, st.floats(n));
            return out;
        } catch (UncheckedIOException e) {
            throw new InputException(path + ": " + e.getMessage(), e);
        }
    }
}
