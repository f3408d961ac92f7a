package dev.easel.demo;

/** The spatial relation of two found objects, along the axis where their centroids differ most. */
final class Relations {

    private Relations() {
    }

    /** "left of", "right of", "above" or "below": where {@code a} is relative to {@code b}. */
    static String of(SceneChecker.Found a, SceneChecker.Found b) {
        double dx = a.cx() - b.cx();
        double dy = a.cy() - b.cy();
        if (Math.abs(dx) >= Math.abs(dy)) {
            return dx < 0 ? "left of" : "right of";
        }
        return dy < 0 ? "above" : "below";
    }
}
