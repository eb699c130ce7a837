package dev.imprint.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The memory plan's activation bytes against the arrays the forward actually allocates, for every family and variant. */
class ActivationsTest {
    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> configs() {
        return TransformerGradientTest.configs();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void bytesEqualTheAllocatedArrays(String name, ModelConfig config) throws IllegalAccessException {
        for (int[] bt : new int[][] {{1, 1}, {3, 7}, {2, 16}}) {
            Activations a = new Activations(config, bt[0], bt[1]);
            assertEquals(arrayBytes(a), Activations.bytes(config, bt[0], bt[1]), name + " B=" + bt[0] + " T=" + bt[1]);
        }
    }

    /** Heap bytes (as {@link dev.imprint.tensor.HeapArrays} counts them) of every float array reachable from {@code o} through its fields and arrays of objects. */
    private static long arrayBytes(Object o) throws IllegalAccessException {
        long sum = 0;
        for (Field f : o.getClass().getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers())) continue;
            f.setAccessible(true);
            Object v = f.get(o);
            if (v instanceof float[] x) sum += dev.imprint.tensor.HeapArrays.floats(x.length);
            else if (v instanceof Object[] xs) for (Object x : xs) sum += arrayBytes(x);
            else if (v != null && v.getClass().getDeclaringClass() == Activations.class) sum += arrayBytes(v);
        }
        return sum;
    }
}
