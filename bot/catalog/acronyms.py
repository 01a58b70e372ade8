"""The field's acronyms, expanded both ways at query time.

``LLM`` also finds "large language models" and ``"large language model"`` (or the
words ``large language model`` anywhere in one query) also finds ``LLM``. The
expansion is a phrase matched by its stems, so ``LLMs`` and "large language models"
count too. Both the index and the reference matcher see the same expanded query
(``bot.catalog.query_expand``), so search and subscriptions agree.

The table: the issue's list plus the most frequent acronyms in the 3,479 recorded
papers (``python benchmarks/count_acronyms.py``: papers mentioning each, e.g. LLM
1041, RL 375, VLM 240, MLLM 210, GRPO 176, SFT 140, VLA 104, QA 92, RLVR 92, GUI 76,
VAE 62, VQA 42, LM 42, T2I 40, RAG 40, ASR 32, OCR 32, MCP 30, TTS 27, DPO 27, OOD 26,
PPO 22, MLP 21, LVLM 20, 3DGS 20, RLHF 17, LRM 16, NLP 16). Ambiguous ones (AR, KV,
SD, AI as a word in names) are left out. A plural ``s`` (``LLMs``) is the same word.
"""

from __future__ import annotations

from paperpost.bot.catalog.query_ast import normalize_tokens

_TABLE = {
    "llm": ["large language model"],
    "vlm": ["vision language model"],
    "lvlm": ["large vision language model"],
    "mllm": ["multimodal large language model"],
    "lmm": ["large multimodal model"],
    "lrm": ["large reasoning model"],
    "lm": ["language model"],
    "umm": ["unified multimodal model"],
    "vla": ["vision language action"],
    "rl": ["reinforcement learning"],
    "rlhf": ["reinforcement learning from human feedback"],
    "rlvr": ["reinforcement learning with verifiable rewards"],
    "dpo": ["direct preference optimization"],
    "ppo": ["proximal policy optimization"],
    "grpo": ["group relative policy optimization"],
    "sft": ["supervised fine tuning", "supervised finetuning"],
    "rag": ["retrieval augmented generation"],
    "moe": ["mixture of experts"],
    "cot": ["chain of thought"],
    "vit": ["vision transformer"],
    "gnn": ["graph neural network"],
    "nerf": ["neural radiance field"],
    "3dgs": ["gaussian splatting"],
    "t2i": ["text to image"],
    "t2v": ["text to video"],
    "asr": ["automatic speech recognition"],
    "tts": ["text to speech"],
    "ocr": ["optical character recognition"],
    "vqa": ["visual question answering"],
    "qa": ["question answering"],
    "gui": ["graphical user interface"],
    "vae": ["variational autoencoder"],
    "mcp": ["model context protocol"],
    "ood": ["out of distribution"],
    "mlp": ["multilayer perceptron", "multi layer perceptron"],
    "nlp": ["natural language processing"],
    "lora": ["low rank adaptation"],
    "mcts": ["monte carlo tree search"],
}

# acronym -> the phrases (normalised tokens) it stands for
ACRONYMS: dict[str, tuple[tuple[str, ...], ...]] = {
    a: tuple(tuple(normalize_tokens(x)) for x in xs) for a, xs in _TABLE.items()
}


def singular(token: str) -> str:
    """``llms`` -> ``llm`` for a known acronym; any other token unchanged."""
    if token.endswith("s") and token[:-1] in ACRONYMS:
        return token[:-1]
    return token
