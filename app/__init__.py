"""The Gradio dashboard; imports core/, never the other way round."""
