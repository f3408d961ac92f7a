package dev.easel.contract;

/**
 * The answer to checking client input: the value, or the rejection that says why there is none.
 * Bad input always ends here, never in an exception.
 */
public sealed interface Validated<T> {

    /** The input was acceptable. */
    record Valid<T>(T value) implements Validated<T> {
    }

    /** The input broke the contract. */
    record Invalid<T>(JobRejection rejection) implements Validated<T> {
    }
}
