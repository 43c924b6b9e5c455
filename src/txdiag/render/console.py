"""Rich set up the way txdiag prints, and the words of the explain view.

Rich is imported here and in :mod:`txdiag.render.table`, nowhere in the core, so machine
formats never pay for it; this module needs nothing else, so ``explain`` loads only it.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.text import Text

CATEGORY_STYLE = {
    "balance": "yellow",
    "network": "cyan",
    "card_binding": "magenta",
    "risk_control": "red",
    "system": "bold red",
    "unknown": "dim",
}


class _Console(Console):
    """Rich's console, but a closed pipe is an ordinary ``BrokenPipeError``: Rich's own
    answer, ``SystemExit(1)``, would read as a ``check`` breach; txdiag stops quietly with 0."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def make_console(out: TextIO, *, width: int | None = None, color: bool = False) -> Console:
    return _Console(
        file=out,
        width=width,
        color_system="auto" if color else None,
        no_color=not color,
        force_terminal=color or None,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
    )


CATEGORY_TITLE = {
    "en": {
        "balance": "balance or credit", "network": "network", "card_binding": "card or binding",
        "risk_control": "risk control", "system": "system", "unknown": "not a known fault",
    },
    "zh": {
        "balance": "余额/额度", "network": "网络", "card_binding": "银行卡/绑卡",
        "risk_control": "风控", "system": "系统", "unknown": "未识别的故障",
    },
}
"""A category in words, beside its id (the id stays as it is: it is what scripts match)."""


def category_text(category: str, lang: str | None = None) -> Text:
    """A category's id, coloured; with ``lang``, followed by its name in that language."""
    text = Text(category, style=CATEGORY_STYLE.get(category, ""))
    title = CATEGORY_TITLE.get(lang or "", {}).get(category)
    if title and title != category:
        text.append(f" ({title})", style="")
    return text


LABELS = {
    "en": {
        "category": "Category", "reason": "Reason", "retryable": "Retry",
        "hint": "Tell the customer", "action": "Engineering", "evidence": "Evidence",
        "no_match": "no rule matched: the code and message are shown as they are",
        "meanings": "This code means different things on different channels",
        "ask_channel": "Ask again with the channel for one answer: txdiag explain {query} "
                       "--channel {channel}",
        "channel": "Channel",
    },
    "zh": {
        "category": "类别", "reason": "原因", "retryable": "能否重试",
        "hint": "告诉客户", "action": "技术处理", "evidence": "依据",
        "no_match": "没有规则匹配：按原样展示错误码和信息",
        "meanings": "该错误码在不同渠道含义不同",
        "ask_channel": "指定渠道可得到唯一答案：txdiag explain {query} --channel {channel}",
        "channel": "渠道",
    },
}

RETRY_TEXT = {
    "en": {
        "yes": "a retry may succeed",
        "no": "a retry will fail the same way",
        "after_fix": "retry only after the cause is fixed",
        "query_first": "outcome unknown: query the order before any retry",
    },
    "zh": {
        "yes": "重试可能成功",
        "no": "重试会以同样原因失败",
        "after_fix": "需先解决问题再重试",
        "query_first": "结果未知：重试前务必先查询订单状态",
    },
}
