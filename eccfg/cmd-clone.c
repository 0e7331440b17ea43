/* PLACEHOLDER: not written yet */
