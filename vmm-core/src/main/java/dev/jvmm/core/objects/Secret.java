package dev.jvmm.core.objects;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.TypeInfo;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.function.Function;

/**
 * QEMU's "secret" object (qapi/crypto.json SecretProperties): a value given inline (data=) or read from a
 * file (file=), raw or base64, optionally AES-256-CBC encrypted under another secret (keyid=, iv=) as libvirt
 * encrypts every secret it passes under its per-domain master key.
 *
 * @param id     the object's id
 * @param data   data= as given, or null
 * @param file   file= as given, or null
 * @param format raw or base64 (of the input; the loaded value is always raw bytes)
 * @param keyid  the id of the secret holding the 32-byte key, or null
 * @param iv     the base64 initialisation vector, or null
 * @param value  the decoded (and decrypted) secret
 */
public record Secret(String id, String data, String file, String format, String keyid, String iv, byte[] value) {
    private static final int AES_256_KEY_BYTES = 32;
    private static final int AES_BLOCK_BYTES = 16;

    static final PropType FORMAT = PropType.enumeration("QCryptoSecretFormat", null, List.of("raw", "base64"));

    public static final TypeInfo COMMON = TypeInfo.abstractType("secret_common", "object")
            .implementing("user-creatable")
            .props(Property.of("loaded", PropType.BOOL, false),
                    Property.of("format", FORMAT, "raw"),
                    Property.of("keyid", PropType.QOM_STRING),
                    Property.of("iv", PropType.QOM_STRING))
            .build();

    public static final TypeInfo TYPE = TypeInfo.type("secret", "secret_common")
            .props(Property.of("data", PropType.QOM_STRING), Property.of("file", PropType.QOM_STRING))
            .build();

    static final List<String> KEYS = List.of("data", "file", "format", "keyid", "iv", "loaded");

    /**
     * Loads a secret as QEMU completes the object: errors are QEMU's lines without the option prefix.
     * keys finds earlier secrets by id (the key for keyid=).
     */
    static Secret create(ObjectOptions o, Function<String, Secret> keys) {
        String data = o.values().get("data");
        String file = o.values().get("file");
        String format = o.member("format", "raw", "raw", "base64");
        String keyid = o.values().get("keyid");
        String iv = o.values().get("iv");
        o.bool("loaded", false);
        if (data == null && file == null) {
            throw new OptionException(null, "Either 'file' or 'data' must be provided");
        }
        if (data != null && file != null) {
            throw new OptionException(null, "'file' and 'data' are mutually exclusive");
        }
        byte[] input = data != null ? data.getBytes(StandardCharsets.UTF_8) : readFile(file);
        byte[] value;
        if (keyid != null) {
            value = decrypt(input, format, keyid, iv, keys);
        } else if (format.equals("base64")) {
            value = base64(input);
        } else {
            value = input;
        }
        return new Secret(o.id(), data, file, format, keyid, iv, value);
    }

    private static byte[] readFile(String file) {
        try {
            return Files.readAllBytes(Path.of(file));
        } catch (NoSuchFileException e) {
            throw new OptionException(null, "Unable to read " + file + ": Failed to open file \u201c" + file
                    + "\u201d: No such file or directory");
        } catch (IOException e) {
            throw new OptionException(null, "Unable to read " + file + ": " + e.getMessage());
        }
    }

    private static byte[] base64(byte[] text) {
        try {
            return Base64.getDecoder().decode(new String(text, StandardCharsets.US_ASCII).strip());
        } catch (IllegalArgumentException e) {
            throw new OptionException(null, "Base64 data contains invalid characters");
        }
    }

    /** QEMU's qcrypto_secret_decrypt: the key is another secret's raw value, the padding PKCS#7. */
    private static byte[] decrypt(byte[] input, String format, String keyid, String iv,
                                  Function<String, Secret> keys) {
        Secret key = keys.apply(keyid);
        if (key == null) {
            throw new OptionException(null, "No secret with id '" + keyid + "'");
        }
        if (key.value().length != AES_256_KEY_BYTES) {
            throw new OptionException(null, "Key should be 32 bytes in length");
        }
        if (iv == null) {
            throw new OptionException(null, "IV is required to decrypt secret");
        }
        byte[] ivBytes = base64(iv.getBytes(StandardCharsets.US_ASCII));
        if (ivBytes.length != AES_BLOCK_BYTES) {
            throw new OptionException(null, "IV should be 16 bytes in length not " + ivBytes.length);
        }
        byte[] cipherText = format.equals("base64") ? base64(input) : input;
        if (cipherText.length % AES_BLOCK_BYTES != 0) {
            throw new OptionException(null, "Length " + cipherText.length
                    + " must be a multiple of block size " + AES_BLOCK_BYTES);
        }
        byte[] plain;
        try {
            // The padding is checked here rather than by the JDK, to refuse it with QEMU's text.
            Cipher c = Cipher.getInstance("AES/CBC/NoPadding");
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key.value(), "AES"), new IvParameterSpec(ivBytes));
            plain = c.doFinal(cipherText);
        } catch (GeneralSecurityException e) {
            throw new OptionException(null, "Cannot decrypt secret: " + e.getMessage());
        }
        int pad = plain.length == 0 ? 0 : plain[plain.length - 1] & 0xff;
        if (pad == 0 || pad > plain.length || pad > AES_BLOCK_BYTES) {
            throw new OptionException(null, "Incorrect number of padding bytes (" + pad
                    + ") found on decrypted data");
        }
        return Arrays.copyOf(plain, plain.length - pad);
    }

    /** The secret as text (a password), UTF-8. */
    public String text() {
        return new String(value, StandardCharsets.UTF_8);
    }
}
