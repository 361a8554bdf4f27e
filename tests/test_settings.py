from dataclasses import dataclass

from semlat.settings import field_docs


def test_field_docs_read_a_google_style_args_section():
    @dataclass
    class Example:
        """Summary.

        Args:
            first: one line.
            second: two
                lines with ``code``.

        Returns:
            nothing: not an argument.
        """

        first: int = 0
        second: int = 0

    assert field_docs(Example) == {"first": "one line.", "second": "two lines with code."}
